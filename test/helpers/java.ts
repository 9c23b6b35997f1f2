/**
 * The Java client for compat tests: FranzCheck.java run by `java` with the jars `.ci/install`
 * fetched into test/java/lib. Without the jars a test is skipped, unless FRANZ_REQUIRE_JAVA=1
 * (CI), where a missing client is a failure.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const JAVA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'java');
const LIB = join(JAVA_DIR, 'lib');
const haveJars = existsSync(LIB) && readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f));

/** A test's `skip` option: the reason when the jars are missing and not required, else false. */
export const javaSkip: string | false = !haveJars && process.env.FRANZ_REQUIRE_JAVA !== '1' ? 'no jars in test/java/lib' : false;

/** `java` arguments that run FranzCheck (mode and its arguments follow). */
export const FRANZ_CHECK: readonly string[] = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-cp',
  `${LIB}/*`,
  join(JAVA_DIR, 'FranzCheck.java'),
];
