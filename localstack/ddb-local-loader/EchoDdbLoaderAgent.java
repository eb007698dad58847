package echo.localstack;

import java.lang.instrument.Instrumentation;

/**
 * Stand-in for LocalStack's ddb-local-loader agent, which it always passes to DynamoDB Local as
 * -javaagent and normally downloads. Offline we only need the JVM to accept the agent; the real
 * one's single feature (lifting the 20-GSI limit) is not needed by Echo.
 */
public final class EchoDdbLoaderAgent {
    private EchoDdbLoaderAgent() {
    }

    public static void premain(String args, Instrumentation instrumentation) {
    }
}
