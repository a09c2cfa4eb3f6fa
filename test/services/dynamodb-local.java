// Starts DynamoDB Local (the real one, from the amplify-dynamodb-simulator package) in memory, bound to
// 127.0.0.1 on a free port: its command line only offers a fixed port on every interface. Prints
// "listening on 127.0.0.1:<port>" when ready and exits when its standard input closes, so it never
// outlives the test run that started it. Run in source-file mode:
//   java -Djava.library.path=<emulator>/DynamoDBLocal_lib -cp <emulator>/DynamoDBLocal.jar dynamodb-local.java
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public class DynamoDbLocalOnLoopback {
  public static void main(String[] args) throws Exception {
    // The port given here is replaced below; the command line refuses 0.
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(
        new String[] {"-inMemory", "-sharedDb", "-disableTelemetry", "-port", "65535"});
    java.lang.reflect.Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    ServerConnector connector = (ServerConnector) ((Server) field.get(proxy)).getConnectors()[0];
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    proxy.start();
    System.out.println("listening on 127.0.0.1:" + connector.getLocalPort());
    while (System.in.read() != -1) {}
    System.exit(0);
  }
}
