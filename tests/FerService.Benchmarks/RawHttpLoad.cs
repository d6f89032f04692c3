using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FerService.Benchmarks;

/// <summary>
/// The load generator's side of the HTTP levels: each image's whole request (headers and multipart body) is built once,
/// sent over kept-alive loopback connections, and the answer is read only as far as its status and its end. HttpClient
/// spent 0.8–1.2 ms of CPU per request on the same two cores the service is measured on (a client on another machine
/// costs the service nothing); this costs a fraction of that, and the benchmark still reports what it costs.
/// </summary>
internal sealed class RawHttpLoad(Uri address, IReadOnlyList<byte[]> requests) : IDisposable
{
    private readonly ConcurrentBag<RawHttpConnection> idle = [];
    private readonly IPEndPoint endPoint = new(IPAddress.Parse(address.Host), address.Port);

    /// <summary>A multipart/form-data POST of each image as the part 'images', the form HttpClient's MultipartFormDataContent sends.</summary>
    public static RawHttpLoad ForImages(Uri address, string path, IReadOnlyList<byte[]> images, string contentType)
    {
        var requests = new byte[images.Count][];
        for (var i = 0; i < images.Count; i++)
        {
            var boundary = "fer-benchmark-" + i.ToString(CultureInfo.InvariantCulture);
            var partHead = Encoding.ASCII.GetBytes(
                $"--{boundary}\r\nContent-Type: {contentType}\r\nContent-Disposition: form-data; name=images; filename=scene{i}.jpg\r\n\r\n");
            var tail = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
            var length = partHead.Length + images[i].Length + tail.Length;
            var head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"POST {path} HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"));
            requests[i] = [.. head, .. partHead, .. images[i], .. tail];
        }
        return new RawHttpLoad(address, requests);
    }

    /// <summary>Sends request <paramref name="index"/>; null when answered 2xx, else the status code or "io" for a broken connection.</summary>
    public async Task<string?> SendAsync(int index)
    {
        if (!idle.TryTake(out var connection))
        {
            connection = await RawHttpConnection.ConnectAsync(endPoint).ConfigureAwait(false);
        }
        try
        {
            var (status, keepAlive) = await connection.ExchangeAsync(requests[index]).ConfigureAwait(false);
            if (keepAlive)
            {
                idle.Add(connection);
            }
            else
            {
                connection.Dispose();
            }
            return status is >= 200 and < 300 ? null : status.ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or SocketException or FormatException)
        {
            connection.Dispose();
            return "io";
        }
    }

    public void Dispose()
    {
        while (idle.TryTake(out var connection))
        {
            connection.Dispose();
        }
    }
}

/// <summary>One HTTP/1.1 connection: writes a pre-built request, reads the response's status line, headers and body.</summary>
internal sealed class RawHttpConnection : IDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] LineEnd = "\r\n"u8.ToArray();
    private readonly Socket socket;
    private readonly byte[] buffer = new byte[64 * 1024];
    private int start;
    private int end;

    private RawHttpConnection(Socket socket) => this.socket = socket;

    public static async Task<RawHttpConnection> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint).ConfigureAwait(false);
            return new RawHttpConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task<(int Status, bool KeepAlive)> ExchangeAsync(ReadOnlyMemory<byte> request)
    {
        while (!request.IsEmpty)
        {
            request = request[await socket.SendAsync(request).ConfigureAwait(false)..];
        }
        var headerLength = await ReadUntilAsync(HeaderEnd).ConfigureAwait(false);
        var head = Encoding.ASCII.GetString(buffer, start, headerLength);
        start += headerLength + HeaderEnd.Length;
        // "HTTP/1.1 200 OK"
        var status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
        long? contentLength = null;
        var chunked = false;
        var keepAlive = true;
        foreach (var line in head.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }
            var name = line.AsSpan(0, colon).Trim();
            var value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = long.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                keepAlive = !value.Equals("close", StringComparison.OrdinalIgnoreCase);
            }
        }
        if (chunked)
        {
            while (true)
            {
                var lineLength = await ReadUntilAsync(LineEnd).ConfigureAwait(false);
                var size = long.Parse(buffer.AsSpan(start, lineLength).TrimEnd(" "u8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                start += lineLength + LineEnd.Length;
                if (size == 0)
                {
                    start += await ReadUntilAsync(LineEnd).ConfigureAwait(false) + LineEnd.Length; // no trailers are sent
                    break;
                }
                await SkipAsync(size + LineEnd.Length).ConfigureAwait(false);
            }
        }
        else if (contentLength is { } length)
        {
            await SkipAsync(length).ConfigureAwait(false);
        }
        else
        {
            keepAlive = false; // the body runs to the end of the connection; not read
        }
        return (status, keepAlive);
    }

    /// <summary>Reads until <paramref name="marker"/> is buffered; returns its offset from <see cref="start"/>.</summary>
    private async Task<int> ReadUntilAsync(byte[] marker)
    {
        var searched = 0;
        while (true)
        {
            var found = buffer.AsSpan(start + searched, end - start - searched).IndexOf(marker);
            if (found >= 0)
            {
                return searched + found;
            }
            searched = Math.Max(0, end - start - marker.Length + 1);
            await FillAsync().ConfigureAwait(false);
        }
    }

    private async Task SkipAsync(long count)
    {
        while (count > 0)
        {
            if (start == end)
            {
                await FillAsync().ConfigureAwait(false);
            }
            var take = (int)Math.Min(count, end - start);
            start += take;
            count -= take;
        }
    }

    private async Task FillAsync()
    {
        if (start == end)
        {
            start = end = 0;
        }
        else if (end == buffer.Length)
        {
            if (start == 0)
            {
                throw new IOException("A response header line is longer than the read buffer.");
            }
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }
        var read = await socket.ReceiveAsync(buffer.AsMemory(end)).ConfigureAwait(false);
        if (read == 0)
        {
            throw new IOException("The service closed the connection mid-response.");
        }
        end += read;
    }

    public void Dispose() => socket.Dispose();
}
