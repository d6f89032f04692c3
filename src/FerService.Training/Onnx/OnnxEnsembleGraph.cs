using System.Text;
using FerService.Inference.Onnx;

namespace FerService.Training.Onnx;

/// <summary>How an ensemble combines its members' outputs.</summary>
internal enum EnsembleAveraging
{
    /// <summary>Mean of the members' softmax probabilities; the graph outputs its log, so softmax of the output gives the mean back.</summary>
    Probabilities,

    /// <summary>Mean of the members' logits.</summary>
    Logits,
}

/// <summary>
/// Joins classifiers that read the same input into one graph that averages their outputs, so the service still makes one
/// ONNX Runtime run per batch. Every name inside a member gets the member's prefix, so weights and values cannot collide.
/// Handles what our exporters write (default-domain operators, no subgraphs); anything else is refused, not guessed at.
/// </summary>
internal static class OnnxEnsembleGraph
{
    private const int ModelGraphField = 7, ModelOpsetField = 8;
    private const int GraphNodeField = 1, GraphInitializerField = 5, GraphInputField = 11, GraphOutputField = 12, GraphSparseInitializerField = 15;
    private const int NodeInputField = 1, NodeOutputField = 2, NodeNameField = 3, NodeOpTypeField = 4, NodeDomainField = 7;
    private const int TensorNameField = 8;

    /// <summary>Keeps log(0) out of the output when a member is certain.</summary>
    private const float ProbabilityFloor = 1e-12f;

    public static byte[] Build(IReadOnlyList<byte[]> members, EnsembleAveraging averaging, int height, int width, int classes)
    {
        if (members.Count < 2)
        {
            throw new ArgumentException("An ensemble needs at least two members.", nameof(members));
        }
        var graph = new OnnxGraphBuilder();
        graph.Input(OnnxExporter.InputName, "batch", 1, height, width);
        var outputs = new string[members.Count];
        for (var i = 0; i < members.Count; i++)
        {
            outputs[i] = AddMember(graph, members[i], $"m{i}/");
        }
        string averaged;
        if (averaging == EnsembleAveraging.Probabilities)
        {
            var probabilities = new string[outputs.Length];
            for (var i = 0; i < outputs.Length; i++)
            {
                probabilities[i] = graph.Node("Softmax", [outputs[i]], graph.Unique("probabilities"), ("axis", 1L));
            }
            var mean = graph.Node("Mean", probabilities, graph.Unique("mean"));
            var floor = graph.Initializer(graph.Unique("floor"), [ProbabilityFloor]);
            averaged = graph.Node("Log", [graph.Node("Max", [mean, floor], graph.Unique("floored"))], graph.Unique("log"));
        }
        else
        {
            averaged = graph.Node("Mean", outputs, graph.Unique("mean"));
        }
        return OnnxExporter.Finish(graph, averaged, classes);
    }

    /// <summary>Copies one member's nodes and initializers under <paramref name="prefix"/>; returns the name of its output.</summary>
    private static string AddMember(OnnxGraphBuilder graph, ReadOnlySpan<byte> model, string prefix)
    {
        string? output = null;
        var reader = new ProtoReader(model);
        var sawGraph = false;
        while (reader.Next(out var field, out var payload))
        {
            if (field == ModelOpsetField)
            {
                CheckOpset(payload);
            }
            else if (field == ModelGraphField)
            {
                sawGraph = true;
                output = AddGraph(graph, payload, prefix);
            }
        }
        return sawGraph && output is not null ? output : throw new InvalidDataException("A member is not an ONNX model with one output.");
    }

    private static string? AddGraph(OnnxGraphBuilder graph, ReadOnlySpan<byte> body, string prefix)
    {
        string? output = null;
        var reader = new ProtoReader(body);
        while (reader.Next(out var field, out var payload))
        {
            switch (field)
            {
                case GraphNodeField:
                    graph.RawNode(RenameNode(payload, prefix));
                    break;
                case GraphInitializerField:
                    graph.RawInitializer(RenameTensor(payload, prefix));
                    break;
                case GraphInputField when NameOf(payload) is var input && input != OnnxExporter.InputName:
                    throw new InvalidDataException($"A member reads '{input}'; ensemble members must read '{OnnxExporter.InputName}'.");
                case GraphOutputField when output is not null:
                    throw new InvalidDataException("A member has more than one output.");
                case GraphOutputField:
                    output = Rename(NameOf(payload), prefix);
                    break;
                case GraphSparseInitializerField:
                    throw new InvalidDataException("Members with sparse initializers are not supported.");
            }
        }
        return output;
    }

    private static ProtoWriter RenameNode(ReadOnlySpan<byte> node, string prefix)
    {
        var result = new ProtoWriter();
        var reader = new ProtoReader(node);
        while (reader.Next(out var field, out var payload))
        {
            var text = field is NodeInputField or NodeOutputField or NodeNameField or NodeOpTypeField or NodeDomainField
                ? Encoding.UTF8.GetString(payload)
                : null;
            switch (field)
            {
                case NodeInputField or NodeOutputField:
                    result.String(field, Rename(text!, prefix));
                    break;
                case NodeNameField:
                    result.String(field, prefix + text);
                    break;
                case NodeOpTypeField when text is "If" or "Loop" or "Scan":
                    throw new InvalidDataException($"Members with subgraphs ({text}) are not supported.");
                case NodeDomainField when text is not ("" or "ai.onnx"):
                    throw new InvalidDataException($"A member uses operators of domain '{text}'; only the default domain is supported.");
                default:
                    result.Raw(reader.LastField);
                    break;
            }
        }
        return result;
    }

    private static ProtoWriter RenameTensor(ReadOnlySpan<byte> tensor, string prefix)
    {
        var result = new ProtoWriter();
        var reader = new ProtoReader(tensor);
        while (reader.Next(out var field, out var payload))
        {
            if (field == TensorNameField)
            {
                result.String(field, prefix + Encoding.UTF8.GetString(payload));
            }
            else
            {
                result.Raw(reader.LastField);
            }
        }
        return result;
    }

    /// <summary>The shared input keeps its name; an empty name (an omitted optional input) stays empty.</summary>
    private static string Rename(string name, string prefix) =>
        name.Length == 0 || name == OnnxExporter.InputName ? name : prefix + name;

    /// <summary>Field 1 of a ValueInfoProto.</summary>
    private static string NameOf(ReadOnlySpan<byte> valueInfo) => ProtoReader.FirstString(valueInfo, 1);

    /// <summary>The merged graph declares the default domain at <see cref="OnnxGraphBuilder.Opset"/>; a member must not need more.</summary>
    private static void CheckOpset(ReadOnlySpan<byte> opset)
    {
        var (domain, version) = ("", 0UL);
        var reader = new ProtoReader(opset);
        while (reader.Next(out var field, out var payload, out var varint, out _))
        {
            if (field == 1)
            {
                domain = Encoding.UTF8.GetString(payload);
            }
            else if (field == 2)
            {
                version = varint;
            }
        }
        if (domain is not ("" or "ai.onnx") || version > OnnxGraphBuilder.Opset)
        {
            throw new InvalidDataException($"A member imports opset '{domain}' {version}; the ensemble graph supports the default domain up to {OnnxGraphBuilder.Opset}.");
        }
    }
}
