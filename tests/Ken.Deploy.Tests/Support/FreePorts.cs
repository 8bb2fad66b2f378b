using System.Net;
using System.Net.Sockets;

namespace Ken.Deploy.Tests.Support;

/// <summary>
/// Loopback ports the OS hands out now. The proxy's configuration names each replica's port, and a
/// restarted replica must come back on the same one, so the port is chosen here rather than by the
/// server (port 0).
/// </summary>
internal static class FreePorts
{
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
