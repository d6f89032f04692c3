using System.Runtime.InteropServices;
using FerService.Inference.Onnx;

namespace FerService.Training.Onnx;

/// <summary>
/// Builds an ONNX ModelProto (field numbers from onnx.proto, IR version 8, default-domain opset 17)
/// with float32 or integer initialisers. Only what our classifiers need; no protobuf dependency.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const int Opset = 17;
    private const int IrVersion = 8;
    public const int FloatType = OnnxDataType.Float;
    public const int UInt8Type = OnnxDataType.UInt8;
    public const int Int8Type = OnnxDataType.Int8;
    public const int Int32Type = OnnxDataType.Int32;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nextName;

    public string Unique(string prefix) => $"{prefix}_{_nextName++}";

    public void Input(string name, params object[] shape) => _inputs.Add(ValueInfo(name, shape));

    public void Output(string name, params object[] shape) => _outputs.Add(ValueInfo(name, shape));

    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Initializer(name, FloatType, MemoryMarshal.AsBytes(values), dims);

    public string Initializer(string name, ReadOnlySpan<int> values, params long[] dims) =>
        Initializer(name, Int32Type, MemoryMarshal.AsBytes(values), dims);

    public string Initializer(string name, ReadOnlySpan<sbyte> values, params long[] dims) =>
        Initializer(name, Int8Type, MemoryMarshal.AsBytes(values), dims);

    public string Initializer(string name, ReadOnlySpan<byte> values, params long[] dims) =>
        Initializer(name, UInt8Type, values, dims);

    private string Initializer(string name, int dataType, ReadOnlySpan<byte> rawData, long[] dims)
    {
        _initializers.Add(OnnxTensor.Write(name, dataType, rawData, dims));
        return name;
    }

    /// <summary>Adds a node; attributes are int, long, float or long[] values.</summary>
    public string Node(string opType, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs)
        {
            node.String(1, input);
        }
        node.String(2, output).String(3, Unique(opType)).String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var attribute = new ProtoWriter().String(1, name);
            switch (value)
            {
                case float f: attribute.Float(2, f).Varint(20, 1); break;
                case int i: attribute.Varint(3, i).Varint(20, 2); break;
                case long l: attribute.Varint(3, l).Varint(20, 2); break;
                case long[] list:
                    foreach (var item in list)
                    {
                        attribute.Varint(8, item);
                    }
                    attribute.Varint(20, 7);
                    break;
                default: throw new ArgumentException($"Unsupported attribute type {value.GetType()}.", nameof(attributes));
            }
            node.Message(5, attribute);
        }
        _nodes.Add(node);
        return output;
    }

    /// <summary>Adds a node or initializer encoded elsewhere (a member graph's, renamed by <see cref="OnnxEnsembleGraph"/>).</summary>
    public void RawNode(ProtoWriter node) => _nodes.Add(node);

    public void RawInitializer(ProtoWriter tensor) => _initializers.Add(tensor);

    public byte[] Build(string graphName, string producer)
    {
        var graph = new ProtoWriter();
        foreach (var node in _nodes)
        {
            graph.Message(1, node);
        }
        graph.String(2, graphName);
        foreach (var initializer in _initializers)
        {
            graph.Message(5, initializer);
        }
        foreach (var input in _inputs)
        {
            graph.Message(11, input);
        }
        foreach (var output in _outputs)
        {
            graph.Message(12, output);
        }
        return new ProtoWriter()
            .Varint(1, IrVersion)
            .String(2, producer)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Varint(2, Opset))
            .ToArray();
    }

    /// <summary>Shape entries are a long (fixed size) or a string (symbolic, e.g. "batch").</summary>
    private static ProtoWriter ValueInfo(string name, object[] shape)
    {
        var dims = new ProtoWriter();
        foreach (var d in shape)
        {
            var dim = d is string symbol ? new ProtoWriter().String(2, symbol) : new ProtoWriter().Varint(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture));
            dims.Message(1, dim);
        }
        var tensorType = new ProtoWriter().Varint(1, FloatType).Message(2, dims);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
