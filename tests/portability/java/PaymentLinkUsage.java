import com.fasterxml.jackson.databind.ObjectMapper;
import global.pik.client.ApiClient;
import global.pik.client.ApiException;
import global.pik.client.api.PaymentLinksApi;
import global.pik.client.api.SandboxApi;
import global.pik.client.model.CreatePaymentLinkRequest;
import global.pik.client.model.ErrorResponse;
import global.pik.client.model.PaymentLink;
import global.pik.client.model.PaymentLinkList;
import global.pik.client.model.PaymentLinkStatus;
import global.pik.client.model.SimulatePaymentLinkRequest;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a Java caller writes against the client openapi-generator makes from openapi.yaml.
 * Compiling it proves the operations and types exist with the expected shapes; running it
 * (argument: the folder of PIK's documented JSON examples) proves the generated models read
 * PIK's documented responses and write the documented request.
 */
public final class PaymentLinkUsage {
  private PaymentLinkUsage() {}

  public static void main(String[] args) throws Exception {
    Path examples = Path.of(args[0]);
    ObjectMapper mapper = ApiClient.createDefaultObjectMapper();

    CreatePaymentLinkRequest order =
        new CreatePaymentLinkRequest().amount("75.00").currency("USDT").description("Order #1234");
    String requestJson = mapper.writeValueAsString(order);
    check(
        mapper.readTree(requestJson).equals(mapper.readTree(read(examples, "create_request.json"))),
        "the request is written as documented: " + requestJson);

    PaymentLink paid = mapper.readValue(read(examples, "get_200_paid.json"), PaymentLink.class);
    check(paid.getStatus() == PaymentLinkStatus.PAID, "status is read as PAID");
    check("75.00".equals(paid.getAmount()), "the amount stays the exact decimal string");
    check(paid.getPaidAt() != null, "paid_at is read");

    String refunded = read(examples, "get_200_paid.json").replace("\"paid\"", "\"refunded\"");
    PaymentLink later = mapper.readValue(refunded, PaymentLink.class);
    check(
        later.getStatus() == PaymentLinkStatus.UNKNOWN_DEFAULT_OPEN_API,
        "a status added later is read as unknown, not refused");

    PaymentLinkList page = mapper.readValue(read(examples, "list_200.json"), PaymentLinkList.class);
    check(page.getData().size() == 1 && page.getTotal() == 1, "a page of links is read");

    ErrorResponse notFound = mapper.readValue(read(examples, "error_404.json"), ErrorResponse.class);
    check("not_found".equals(notFound.getError().getCode()), "the error code is read");

    // Built, never called: no server is involved, only the operations' signatures.
    ApiClient client = new ApiClient();
    PaymentLinksApi links = new PaymentLinksApi(client);
    SandboxApi sandbox = new SandboxApi(client);
    Caller listActive = () -> links.listPaymentLinks(PaymentLinkStatus.ACTIVE, 10, 0);
    Caller create = () -> links.createPaymentLink(order);
    Caller get = () -> links.getPaymentLink("pl_abc123xyz");
    Caller simulate =
        () ->
            sandbox.simulatePaymentLink(
                "pl_abc123xyz",
                new SimulatePaymentLinkRequest().status(SimulatePaymentLinkRequest.StatusEnum.PAID));
    check(listActive != null && create != null && get != null && simulate != null, "calls built");

    System.out.println("Java client: documented examples read and written as PIK documents them");
  }

  @FunctionalInterface
  private interface Caller {
    Object call() throws ApiException;
  }

  private static String read(Path folder, String name) throws Exception {
    return Files.readString(folder.resolve(name));
  }

  private static void check(boolean condition, String what) {
    if (!condition) {
      throw new AssertionError("expected: " + what);
    }
  }
}
