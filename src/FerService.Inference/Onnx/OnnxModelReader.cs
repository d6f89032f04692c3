using System.Text;

namespace FerService.Inference.Onnx;

/// <summary>The element types of onnx.proto's TensorProto.DataType this project reads and writes.</summary>
internal static class OnnxDataType
{
    public const int Float = 1;
    public const int UInt8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
}

/// <summary>One initializer of an ONNX graph: its element type (onnx.proto's TensorProto.DataType), shape and raw little-endian bytes.</summary>
internal sealed record OnnxInitializer(string Name, int DataType, long[] Dims, byte[] RawData)
{
    public ReadOnlySpan<float> Floats => DataType == OnnxDataType.Float
        ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(RawData)
        : throw new InvalidDataException($"Initializer '{Name}' is of type {DataType}, not float.");

    public ReadOnlySpan<sbyte> SBytes => DataType == OnnxDataType.Int8
        ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(RawData)
        : throw new InvalidDataException($"Initializer '{Name}' is of type {DataType}, not int8.");

    public ReadOnlySpan<long> Int64s => DataType == OnnxDataType.Int64
        ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(RawData)
        : throw new InvalidDataException($"Initializer '{Name}' is of type {DataType}, not int64.");
}

/// <summary>
/// Reads back the initializers of a ModelProto, in file order: the counterpart of the training project's graph builder, so a
/// shipped model can be re-quantised and checked without its training checkpoint. Typed data fields (other writers') become raw bytes.
/// </summary>
internal static class OnnxModelReader
{
    private const int ModelGraphField = 7;
    private const int GraphInitializerField = 5;

    public static IReadOnlyList<OnnxInitializer> Initializers(ReadOnlySpan<byte> model)
    {
        var result = new List<OnnxInitializer>();
        var reader = new ProtoReader(model);
        while (reader.Next(out var field, out var graph))
        {
            if (field != ModelGraphField)
            {
                continue;
            }
            var graphReader = new ProtoReader(graph);
            while (graphReader.Next(out var graphField, out var tensor))
            {
                if (graphField == GraphInitializerField)
                {
                    result.Add(ReadTensor(tensor));
                }
            }
        }
        return result;
    }

    /// <summary>One TensorProto as an initializer.</summary>
    public static OnnxInitializer ReadTensor(ReadOnlySpan<byte> tensor)
    {
        var dims = new List<long>();
        var dataType = 0;
        var name = "";
        byte[]? raw = null;
        var typed = new List<byte>();
        var reader = new ProtoReader(tensor);
        while (reader.Next(out var field, out var payload, out var varint, out var lengthDelimited))
        {
            switch (field)
            {
                case 1 when !lengthDelimited: dims.Add((long)varint); break;
                case 1: // packed dims
                    var packed = new ProtoReader(payload);
                    while (!packed.AtEnd)
                    {
                        dims.Add((long)packed.Varint());
                    }
                    break;
                case 2: dataType = (int)varint; break;
                case 8: name = Encoding.UTF8.GetString(payload); break;
                case 9: raw = payload.ToArray(); break;
                case 4: // float_data: packed fixed32, already the raw little-endian bytes
                    typed.AddRange(payload);
                    break;
                case 7 when !lengthDelimited: // one unpacked int64_data value
                    typed.AddRange(BitConverter.GetBytes((long)varint));
                    break;
                case 5 or 7: // int32_data (also int8/uint8/int16 values) or int64_data: packed varints
                    var values = new ProtoReader(payload);
                    while (!values.AtEnd)
                    {
                        var value = (long)values.Varint();
                        typed.AddRange(dataType switch
                        {
                            OnnxDataType.Int8 or OnnxDataType.UInt8 => [(byte)value],
                            OnnxDataType.Int32 => BitConverter.GetBytes((int)value),
                            _ => BitConverter.GetBytes(value),
                        });
                    }
                    break;
            }
        }
        return new OnnxInitializer(name, dataType, [.. dims], raw ?? [.. typed]);
    }
}
