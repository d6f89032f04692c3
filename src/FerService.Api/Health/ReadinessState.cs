namespace FerService.Api.Health;

/// <summary>Ready once both models are loaded and a warm-up inference ran; not ready again once shutdown begins.</summary>
public sealed class ReadinessState
{
    private volatile string? _notReadyReason = "warming up";

    public bool IsReady => _notReadyReason is null;

    public string? NotReadyReason => _notReadyReason;

    public void MarkReady() => _notReadyReason = null;

    public void MarkNotReady(string reason) => _notReadyReason = reason;
}
