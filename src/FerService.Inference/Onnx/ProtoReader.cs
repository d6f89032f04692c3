namespace FerService.Inference.Onnx;

/// <summary>
/// Walks the fields of one protobuf message (the counterpart of <see cref="ProtoWriter"/>): length-delimited fields give
/// their bytes, varints their value; fixed-width fields are skipped.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;
    private int _fieldStart;

    public readonly bool AtEnd => _position >= _data.Length;

    /// <summary>The whole field <see cref="Next(out int, out ReadOnlySpan{byte})"/> last read, tag included, to copy it unchanged.</summary>
    public readonly ReadOnlySpan<byte> LastField => _data[_fieldStart.._position];

    public bool Next(out int field, out ReadOnlySpan<byte> payload) => Next(out field, out payload, out _, out _);

    /// <summary>Length-delimited fields give their bytes, varints their value; fixed-width fields are skipped.</summary>
    public bool Next(out int field, out ReadOnlySpan<byte> payload, out ulong varint, out bool lengthDelimited)
    {
        payload = default;
        lengthDelimited = false;
        varint = 0;
        field = 0;
        if (AtEnd)
        {
            return false;
        }
        _fieldStart = _position;
        var tag = Varint();
        field = (int)(tag >> 3);
        switch (tag & 7)
        {
            case 0: varint = Varint(); break;
            case 1: _position += 8; break;
            case 2:
                lengthDelimited = true;
                var length = checked((int)Varint());
                payload = _data.Slice(_position, length);
                _position += length;
                break;
            case 5: _position += 4; break;
            default: throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7}.");
        }
        return true;
    }

    /// <summary>The first <paramref name="field"/> of a message as UTF-8 text (a ValueInfoProto's name is field 1); "" when absent.</summary>
    public static string FirstString(ReadOnlySpan<byte> message, int field)
    {
        var reader = new ProtoReader(message);
        while (reader.Next(out var current, out var payload))
        {
            if (current == field)
            {
                return System.Text.Encoding.UTF8.GetString(payload);
            }
        }
        return "";
    }

    public ulong Varint()
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
