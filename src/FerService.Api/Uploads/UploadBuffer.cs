using System.Buffers;

namespace FerService.Api.Uploads;

/// <summary>
/// One upload's bytes in an array from the shared pool that grows (by doubling) with what arrives, each size reserved in
/// the <see cref="UploadBudget"/> before it is rented. Disposing returns the array and its reservation.
/// </summary>
internal sealed class UploadBuffer(UploadBudget budget) : IDisposable
{
    private const int FirstSize = 16 * 1024;

    private byte[] _array = [];

    /// <summary>What is reserved, and so usable, of <see cref="_array"/> (the pool may hand out a larger one).</summary>
    private int _capacity;

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Written => _array.AsMemory(0, Length);

    /// <summary>Space for at least <paramref name="bytes"/> more (at least one), growing if needed.</summary>
    public Memory<byte> GetMemory(int bytes = 1)
    {
        var needed = (long)Length + Math.Max(bytes, 1);
        if (needed > _capacity)
        {
            var size = Math.Max(FirstSize, (long)_capacity * 2);
            while (size < needed)
            {
                size *= 2;
            }
            Grow((int)Math.Min(size, Array.MaxLength));
        }
        return _array.AsMemory(Length, _capacity - Length);
    }

    public void Advance(int count) => Length += count;

    /// <summary>Reads <paramref name="source"/> to its end.</summary>
    public async Task ReadToEndAsync(Stream source, CancellationToken cancellationToken)
    {
        int read;
        while ((read = await source.ReadAsync(GetMemory(), cancellationToken)) > 0)
        {
            Advance(read);
        }
    }

    private void Grow(int size)
    {
        if (!budget.TryReserve(size))
        {
            throw new UploadBudgetExceededException();
        }
        byte[] next;
        try
        {
            next = ArrayPool<byte>.Shared.Rent(size);
        }
        catch
        {
            budget.Release(size);
            throw;
        }
        _array.AsSpan(0, Length).CopyTo(next);
        Return();
        _array = next;
        _capacity = size;
    }

    private void Return()
    {
        if (_capacity > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
            budget.Release(_capacity);
            _capacity = 0;
        }
        _array = [];
    }

    public void Dispose()
    {
        Return();
        Length = 0;
    }
}
