"""Java callers can generate a client from openapi.yaml: openapi-generator's `java` generator
(library `native`: the JDK's own HttpClient) writes it, `javac` compiles it with a usage file,
and `java` runs that file over PIK's documented JSON examples."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import pytest

from tests.portability.tooling import SEED_DIR, SPEC_PATH, run_ok, system_tool

JAVA_DIR = Path(__file__).parent / "java"
JDK_HINT = "install a JDK 17 or later (Debian: apt-get install openjdk-17-jdk-headless)"
GENERATOR_OPTIONS = ",".join(
    [
        "invokerPackage=global.pik.client",
        "apiPackage=global.pik.client.api",
        "modelPackage=global.pik.client.model",
        # jackson-databind-nullable is not in the generator's jar; the spec has no nullable field.
        "openApiNullable=false",
        "hideGenerationTimestamp=true",
        # A status PIK adds later must not make every response unreadable: it becomes
        # UNKNOWN_DEFAULT_OPEN_API instead of an exception (what spec/README.md advises).
        "enumUnknownDefaultCase=true",
    ]
)


def generator_jar() -> Path:
    """openapi-generator's jar, shipped inside the `openapi-generator-cli` Python package."""
    try:
        jar = importlib.resources.files("openapi_generator_cli") / "openapi-generator.jar"
    except ModuleNotFoundError:
        pytest.fail("openapi-generator-cli is not installed: run `make install`", pytrace=False)
    path = Path(str(jar))
    if not path.is_file():
        pytest.fail(f"{path} is missing: reinstall openapi-generator-cli", pytrace=False)
    return path


def test_generated_java_client_compiles_and_reads_the_documented_examples(tmp_path: Path) -> None:
    java = system_tool("java", JDK_HINT)
    javac = system_tool("javac", JDK_HINT)
    jar = generator_jar()
    client_dir = tmp_path / "client"
    classes = tmp_path / "classes"

    run_ok(
        [
            java,
            "-jar",
            jar,
            "generate",
            "--input-spec",
            SPEC_PATH,
            "--generator-name",
            "java",
            "--library",
            "native",
            "--output",
            client_dir,
            "--additional-properties",
            GENERATOR_OPTIONS,
            "--global-property",
            "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false",
        ]
    )
    sources = sorted((client_dir / "src" / "main" / "java").rglob("*.java"))
    assert sources, f"the generator wrote no Java source under {client_dir}"
    own_sources = sorted(JAVA_DIR.rglob("*.java"))

    # The generated client needs Jackson; the generator's jar bundles the same Jackson, so it
    # serves as the classpath and no third-party jar has to be fetched.
    run_ok([javac, "-d", classes, "-cp", jar, "-Xlint:none", *sources, *own_sources])
    stdout = run_ok(
        [java, "-cp", os.pathsep.join([str(classes), str(jar)]), "PaymentLinkUsage", SEED_DIR]
    )

    assert "documented examples read and written" in stdout
