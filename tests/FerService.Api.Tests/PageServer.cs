using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FerService.Api.Tests;

/// <summary>Serves one HTML page on a loopback port of its own: another web app's origin, for the browser's CORS checks.</summary>
internal sealed class PageServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly byte[] _response;

    public PageServer(string html)
    {
        var body = Encoding.UTF8.GetBytes(html);
        _response = [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), .. body];
        _listener.Start();
        Origin = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = AcceptAsync();
    }

    /// <summary>Scheme, host and port, as a browser sends it in the Origin header.</summary>
    public string Origin { get; }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                // Each connection on its own: a browser opens some it never sends a request on.
                _ = ServeAsync(await _listener.AcceptTcpClientAsync());
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = new StringBuilder();
                var buffer = new byte[4096];
                int read;
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && (read = await stream.ReadAsync(buffer)) > 0)
                {
                    head.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }
                if (head.Length > 0)
                {
                    await stream.WriteAsync(_response);
                }
            }
            catch (IOException)
            {
                // The browser gave up on the connection.
            }
        }
    }

    public void Dispose() => _listener.Stop();
}
