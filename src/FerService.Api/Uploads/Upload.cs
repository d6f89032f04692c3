using Microsoft.AspNetCore.Mvc;

namespace FerService.Api.Uploads;

/// <summary>One uploaded image: its bytes, or why it was rejected before decoding.</summary>
internal sealed record Upload(string? Name, ReadOnlyMemory<byte> Data, ProblemDetails? Error);
