using System.Text;
using FerService.Inference.Onnx;

namespace FerService.Inference.Detection;

/// <summary>
/// Rewrites a fixed-size BlazeFace ONNX graph (input [1,S,S,3]) so that it takes any height and width that are multiples
/// of 32. The network is fully convolutional; only three things pin its size: the declared input and output shapes, the
/// anchor count in each output <c>Reshape</c>, and the zero tensors of fixed shape that <c>Concat</c> appends to widen a
/// shortcut's channels. Those become a <c>-1</c>, symbolic dimensions and a channel <c>Pad</c>; every weight is kept.
/// </summary>
internal static class BlazeFaceGraph
{
    private const int ModelGraph = 7, ModelOpset = 8;
    private const int GraphNode = 1, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12, GraphValueInfo = 13;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4;

    /// <summary>
    /// The rewritten model, the side <paramref name="nominalSize"/> it was trained at, and its outputs' shapes at that
    /// size (<paramref name="outputShapes"/>, by name: what the rewritten model no longer declares).
    /// </summary>
    public static byte[] WithFreeInputSize(ReadOnlySpan<byte> model, out int nominalSize, out Dictionary<string, int[]> outputShapes)
    {
        ReadOnlySpan<byte> graph = default;
        var opset = 0L;
        var reader = new ProtoReader(model);
        while (reader.Next(out var field, out var payload))
        {
            if (field == ModelGraph)
            {
                graph = payload;
            }
            else if (field == ModelOpset)
            {
                opset = Math.Max(opset, OpsetVersion(payload));
            }
        }
        if (graph.IsEmpty || opset < 11)
        {
            throw new InvalidDataException($"Face detector graph: expected an ONNX model of opset 11 or later (found {opset}).");
        }
        var rewritten = RewriteGraph(graph, out nominalSize, out outputShapes);
        var writer = new ProtoWriter();
        reader = new ProtoReader(model);
        while (reader.Next(out var field, out _))
        {
            if (field == ModelGraph)
            {
                writer.Bytes(ModelGraph, rewritten);
            }
            else
            {
                writer.Raw(reader.LastField);
            }
        }
        return writer.ToArray();
    }

    private static byte[] RewriteGraph(ReadOnlySpan<byte> graph, out int nominalSize, out Dictionary<string, int[]> outputShapes)
    {
        var nodes = new List<Node>();
        var initializers = new Dictionary<string, long[]>();
        var reader = new ProtoReader(graph);
        while (reader.Next(out var field, out var payload))
        {
            if (field == GraphNode)
            {
                nodes.Add(Node.Read(payload));
            }
            else if (field == GraphInitializer && OnnxModelReader.ReadTensor(payload) is { DataType: OnnxDataType.Int64 } tensor)
            {
                initializers[tensor.Name] = tensor.Int64s.ToArray();
            }
        }
        var producers = new Dictionary<string, Node>();
        foreach (var node in nodes)
        {
            foreach (var output in node.Outputs)
            {
                producers[output] = node;
            }
        }

        // Zero tensors appended along the channels become a Pad of that many channels; their ConstantOfShape goes.
        var padded = new Dictionary<Node, (string PadsName, long Channels)>();
        var dropped = new HashSet<Node>();
        foreach (var node in nodes)
        {
            if (node.OpType == "Concat" && node.Inputs.Count == 2 && producers.TryGetValue(node.Inputs[1], out var zeros)
                && zeros.OpType == "ConstantOfShape" && initializers.TryGetValue(zeros.Inputs[0], out var shape) && shape.Length == 4)
            {
                padded[node] = (node.Outputs[0] + "__channel_pads", shape[1]);
                dropped.Add(zeros);
            }
        }
        var reshapes = new HashSet<string>();
        foreach (var node in nodes)
        {
            if (node.OpType == "Reshape" && initializers.TryGetValue(node.Inputs[1], out var shape) && shape is [1, > 0, > 0])
            {
                reshapes.Add(node.Inputs[1]);
            }
        }
        if (reshapes.Count == 0)
        {
            throw new InvalidDataException("Face detector graph: no anchor Reshape found; is this a BlazeFace model?");
        }

        nominalSize = 0;
        outputShapes = [];
        var nodeIndex = 0;
        var writer = new ProtoWriter();
        reader = new ProtoReader(graph);
        while (reader.Next(out var field, out var payload))
        {
            switch (field)
            {
                case GraphNode:
                    var node = nodes[nodeIndex++];
                    if (dropped.Contains(node))
                    {
                        break;
                    }
                    if (padded.TryGetValue(node, out var pad))
                    {
                        writer.Message(GraphNode, new ProtoWriter()
                            .String(NodeInput, node.Inputs[0]).String(NodeInput, pad.PadsName)
                            .String(NodeOutput, node.Outputs[0]).String(NodeName, node.Outputs[0] + "__pad").String(NodeOpType, "Pad"));
                        break;
                    }
                    writer.Raw(reader.LastField);
                    break;
                case GraphInitializer when OnnxModelReader.ReadTensor(payload) is { DataType: OnnxDataType.Int64 } tensor
                    && reshapes.Contains(tensor.Name):
                    writer.Message(GraphInitializer, Int64Initializer(tensor.Name, [tensor.Int64s[0], -1, tensor.Int64s[2]]));
                    break;
                case GraphInput:
                    writer.Bytes(GraphInput, WithSymbolicDims(payload, [(1, "height"), (2, "width")], out var dims));
                    if (dims is not [1, var side, var other, 3] || side != other || side % 32 != 0)
                    {
                        throw new InvalidDataException($"Face detector input must be [1,S,S,3] NHWC with S a multiple of 32; found [{string.Join(',', dims)}].");
                    }
                    nominalSize = (int)side;
                    break;
                case GraphOutput:
                    writer.Bytes(GraphOutput, WithSymbolicDims(payload, [(1, "anchors")], out var shape));
                    outputShapes[ProtoReader.FirstString(payload, 1)] = Array.ConvertAll(shape, d => (int)d);
                    break;
                case GraphValueInfo:
                    break; // intermediate shapes of the fixed size; ONNX Runtime infers them again
                default:
                    writer.Raw(reader.LastField);
                    break;
            }
        }
        foreach (var (padsName, channels) in padded.Values)
        {
            writer.Message(GraphInitializer, Int64Initializer(padsName, [0, 0, 0, 0, 0, channels, 0, 0]));
        }
        return writer.ToArray();
    }

    private static long OpsetVersion(ReadOnlySpan<byte> operatorSet)
    {
        string domain = "";
        var version = 0L;
        var reader = new ProtoReader(operatorSet);
        while (reader.Next(out var field, out var payload, out var varint, out _))
        {
            if (field == 1)
            {
                domain = Encoding.UTF8.GetString(payload);
            }
            else if (field == 2)
            {
                version = (long)varint;
            }
        }
        return domain is "" or "ai.onnx" ? version : 0;
    }

    /// <summary>A ValueInfoProto with the given dimensions of its tensor shape made symbolic; <paramref name="dims"/> are the old values.</summary>
    private static byte[] WithSymbolicDims(ReadOnlySpan<byte> valueInfo, (int Index, string Name)[] symbolic, out long[] dims)
    {
        var found = new List<long>();
        // ValueInfoProto.type → TypeProto.tensor_type → Tensor.shape → TensorShapeProto.dim (dim_value 1, dim_param 2).
        var rewritten = RewriteField(valueInfo, 2, type => RewriteField(type, 1, tensor => RewriteField(tensor, 2, shape =>
            RewriteField(shape, 1, dim =>
            {
                var index = found.Count;
                found.Add(DimValue(dim));
                var name = Array.Find(symbolic, s => s.Index == index).Name;
                return name is null ? dim : new ProtoWriter().String(2, name).ToArray();
            }))));
        dims = [.. found];
        return rewritten;
    }

    /// <summary>The message with the payload of every <paramref name="field"/> replaced; other fields are copied unchanged.</summary>
    private static byte[] RewriteField(ReadOnlySpan<byte> message, int field, Func<byte[], byte[]> rewrite)
    {
        var writer = new ProtoWriter();
        var reader = new ProtoReader(message);
        while (reader.Next(out var current, out var payload, out _, out var lengthDelimited))
        {
            if (current == field && lengthDelimited)
            {
                writer.Bytes(field, rewrite(payload.ToArray()));
            }
            else
            {
                writer.Raw(reader.LastField);
            }
        }
        return writer.ToArray();
    }

    private static long DimValue(ReadOnlySpan<byte> dimension)
    {
        var reader = new ProtoReader(dimension);
        while (reader.Next(out var field, out _, out var varint, out var lengthDelimited))
        {
            if (field == 1 && !lengthDelimited)
            {
                return (long)varint;
            }
        }
        return -1;
    }

    private static ProtoWriter Int64Initializer(string name, long[] values) =>
        OnnxTensor.Write(name, OnnxDataType.Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes<long>(values), [values.Length]);

    private sealed class Node
    {
        public required string OpType { get; init; }
        public List<string> Inputs { get; } = [];
        public List<string> Outputs { get; } = [];

        public static Node Read(ReadOnlySpan<byte> payload)
        {
            var inputs = new List<string>();
            var outputs = new List<string>();
            var opType = "";
            var reader = new ProtoReader(payload);
            while (reader.Next(out var field, out var value))
            {
                switch (field)
                {
                    case NodeInput: inputs.Add(Encoding.UTF8.GetString(value)); break;
                    case NodeOutput: outputs.Add(Encoding.UTF8.GetString(value)); break;
                    case NodeOpType: opType = Encoding.UTF8.GetString(value); break;
                }
            }
            var node = new Node { OpType = opType };
            node.Inputs.AddRange(inputs);
            node.Outputs.AddRange(outputs);
            return node;
        }
    }
}
