package javax.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Compile-time stand-in for {@code javax.annotation.Generated} from javax.annotation-api, the one
 * dependency of the generated client that neither the JDK nor the generator's own jar (which
 * bundles Jackson) provides. It is a source-only marker, so nothing at run time depends on it.
 */
@Documented
@Retention(RetentionPolicy.SOURCE)
@Target({
  ElementType.PACKAGE,
  ElementType.TYPE,
  ElementType.ANNOTATION_TYPE,
  ElementType.METHOD,
  ElementType.CONSTRUCTOR,
  ElementType.FIELD,
  ElementType.LOCAL_VARIABLE,
  ElementType.PARAMETER
})
public @interface Generated {
  String[] value();

  String date() default "";

  String comments() default "";
}
