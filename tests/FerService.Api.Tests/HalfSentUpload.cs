namespace FerService.Api.Tests;

/// <summary>A POST over a raw socket whose headers announce the whole multipart body and which sends only half of it.</summary>
internal sealed class HalfSentUpload : IDisposable
{
    private readonly System.Net.Sockets.TcpClient _socket;
    private readonly Stream _stream;
    private readonly byte[] _body;

    private HalfSentUpload(System.Net.Sockets.TcpClient socket, byte[] body)
    {
        _socket = socket;
        _stream = socket.GetStream();
        _body = body;
    }

    public static async Task<HalfSentUpload> StartAsync(Uri address, MultipartFormDataContent content)
    {
        var body = await content.ReadAsByteArrayAsync();
        var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var upload = new HalfSentUpload(socket, body);
        var head = $"POST /api/emotions HTTP/1.1\r\nHost: test\r\nContent-Type: {content.Headers.ContentType}\r\nContent-Length: {body.Length}\r\n\r\n";
        await upload._stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        await upload._stream.WriteAsync(body.AsMemory(0, body.Length / 2));
        await upload._stream.FlushAsync();
        return upload;
    }

    public async Task FinishAsync() => await _stream.WriteAsync(_body.AsMemory(_body.Length / 2));

    public async Task<string> ReadStatusLineAsync()
    {
        using var reader = new StreamReader(_stream, leaveOpen: true);
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
    }

    /// <summary>Reads until the server closes the connection (or resets it).</summary>
    public async Task WaitForCloseAsync(TimeSpan limit)
    {
        using var ended = new CancellationTokenSource(limit);
        try
        {
            while (await _stream.ReadAsync(new byte[4096], ended.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();
}
