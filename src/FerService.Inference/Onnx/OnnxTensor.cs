namespace FerService.Inference.Onnx;

/// <summary>
/// One TensorProto with its data as raw bytes, the form initializers are written in here (<see cref="OnnxModelReader"/>
/// reads it back). No dims makes a scalar; raw_data is little-endian, as this machine's memory is.
/// </summary>
internal static class OnnxTensor
{
    private const int Dims = 1, DataType = 2, Name = 8, RawData = 9;

    public static ProtoWriter Write(string name, int dataType, ReadOnlySpan<byte> rawData, ReadOnlySpan<long> dims)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dims)
        {
            tensor.Varint(Dims, d);
        }
        return tensor.Varint(DataType, dataType).String(Name, name).Bytes(RawData, rawData);
    }
}
