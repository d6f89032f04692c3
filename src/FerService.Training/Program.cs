using System.Globalization;
using FerService.Evaluation;
using FerService.Training;

if (!NativeTuning.TuneMallocForTraining())
{
    Console.Error.WriteLine("warning: mallopt tuning was not applied; training may be several times slower.");
}
return Cli.Run(args, Console.Out, Console.Error);

namespace FerService.Training
{
    internal static class Cli
    {
        private const string Usage = """
            FerService.Training — train, export and evaluate the FER2013 emotion classifier.

              train    [--data <fer2013.csv|.csv.gz>] [--out models/]
                       [--epochs N] [--minutes M] [--seed S] [--threads T]
                       [--run-dir artifacts/training/<time>-seed<S>] [--stop-after-epochs N]   (each epoch's checkpoint; end early)
                       [--crop 48] [--erase 0.5]   (recipe: crop side, erasing probability)
                       [--weight-decay 0.0005] [--label-smoothing 0.1]
                       [--init models/emotion-fer2013.onnx] [--jitter standard|pipeline] [--lr 0.05]   (fine-tune an exported model; framing jitter as the service's detector makes it)
                       [--framing framing-training.csv] [--framing-share 0.5]   (that share of faces cropped where the service's detector frames them; see framing)
                       [--teacher-targets artifacts/teacher-training.csv] [--teacher-weight 0.5]   (distil: targets mixed with a teacher's stored predictions; see teach)
                       [--precision fp32|bf16]   (bf16: mixed precision, fp32 master weights; faster on CPUs with AVX512-BF16)
                       [--layout nchw|nhwc]   (nhwc: conv weights stored channels-last, so libtorch's CPU convolutions run NHWC)
              train    --resume <run dir> [--stop-after-epochs N]   (continue a run from its last finished epoch, with its own options)
              export   --checkpoint <file.ckpt> [--data ...] [--out models/]
              quantize --model models/emotion-fer2013.onnx [--data ...] [--out models/]   (the int8 twin of an exported model, no checkpoint needed)
              ensemble --members a.onnx,b.onnx[,...] [--average probabilities|logits] [--data ...] [--out models/]
                       (one graph averaging the members, emotion-ensemble.onnx/.json, and its int8 twin from the members' -int8 twins;
                       without --average both are measured on PublicTest and the better flip-averaged one is kept)
              teach    --model models/emotion-ensemble.onnx [--data ...] [--out artifacts/teacher-training.csv] [--max-rows N]
                       (the model's flip-averaged probabilities at its card's temperature for every Training face, for train --teacher-targets)
              evaluate --model models/emotion-fer2013.onnx [--data ...] [--usage PublicTest] [--report-dir DIR] [--update-card true]
              evaluate-scenes [--data ...] [--usage PublicTest] [--faces 1600] [--seed 2013] [--set Detection:MaxInputSide=800,...] [--faces-csv FILE] [--root .]
                       (FER2013 faces pasted into generated photos, through the service's pipeline with its defaults or the
                       settings given; prints faces found, false faces, box IoU and accuracy next to the crops', one JSON line last)
              evaluate-photos [--photos data/realfaces] [--set ...] [--csv FILE] [--root .]
                       (real photos with expected face counts in labels.json, through the service's pipeline: photos counted
                       right, over and under, by kind, CPU ms per photo; one JSON line last)
              framing  [--data ...] [--usage Training] [--out framing-training.csv] [--max-rows N] [--set ...] [--root .]
                       (each face alone through the service's detector: where its crop lies on the FER2013 square, for train --framing)

            train and export write emotion-fer2013.onnx/.json and its int8 twin emotion-fer2013-int8.onnx/.json.
            --data defaults to data/fer2013.csv or data/fer2013.csv.gz.
            """;

        public static int Run(string[] args, TextWriter output, TextWriter error)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                output.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            try
            {
                var arguments = Arguments.Parse(args.AsSpan(1));
                switch (args[0])
                {
                    case "train" when arguments.Get("resume") is { } run:
                        Trainer.Resume(run, output, arguments.GetInt("stop-after-epochs"));
                        return 0;
                    case "train":
                        new Trainer(TrainOptionsFrom(arguments, args), output).Run();
                        return 0;
                    case "export":
                        new ModelExporter(TrainOptionsFrom(arguments, args), output).Export(
                            arguments.Get("checkpoint") ?? throw new ArgumentException("export needs --checkpoint <file.ckpt>."));
                        return 0;
                    case "quantize":
                        new ModelExporter(TrainOptionsFrom(arguments, args), output).Quantize(
                            arguments.Get("model") ?? throw new ArgumentException("quantize needs --model <file.onnx>."));
                        return 0;
                    case "evaluate":
                        new Evaluator(output).Run(DataPath(arguments),
                            arguments.Get("model") ?? "models/emotion-fer2013.onnx",
                            arguments.Get("usage"),
                            arguments.Get("report-dir"),
                            arguments.Get("update-card") == "true");
                        return 0;
                    case "ensemble":
                        new Ensembler(output).Run(DataPath(arguments),
                            (arguments.Get("members") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                            arguments.Get("average") switch
                            {
                                null => null,
                                "probabilities" => Onnx.EnsembleAveraging.Probabilities,
                                "logits" => Onnx.EnsembleAveraging.Logits,
                                var other => throw new ArgumentException($"--average must be probabilities or logits, not '{other}'."),
                            },
                            arguments.Get("out") ?? "models", CommandLine(args));
                        return 0;
                    case "teach":
                        TeacherTargets.Write(DataPath(arguments),
                            arguments.Get("model") ?? throw new ArgumentException("teach needs --model <file.onnx> (an ensemble or any exported model)."),
                            arguments.Get("out") ?? Path.Combine("artifacts", "teacher-training.csv"), output, arguments.GetInt("max-rows") ?? int.MaxValue);
                        return 0;
                    case "evaluate-scenes":
                        new Scenes.SceneEvaluator(output).Run(DataPath(arguments), arguments.Get("usage") ?? "PublicTest",
                            arguments.GetInt("faces") ?? 1600, arguments.GetInt("seed") ?? 2013, Settings(arguments.Get("set")), arguments.Get("faces-csv"), arguments.Get("root"));
                        return 0;
                    case "evaluate-photos":
                        new Photos.PhotoEvaluator(output).Run(arguments.Get("photos") ?? Path.Combine("data", "realfaces"),
                            Settings(arguments.Get("set")), arguments.Get("csv"), arguments.Get("root"));
                        return 0;
                    case "framing":
                        new Scenes.FramingWriter(output).Write(DataPath(arguments), arguments.Get("usage") ?? "Training",
                            arguments.Get("out") ?? "framing-training.csv", Settings(arguments.Get("set")), arguments.Get("root"),
                            arguments.GetInt("max-rows") ?? int.MaxValue);
                        return 0;
                    default:
                        error.WriteLine($"Unknown command '{args[0]}'.\n{Usage}");
                        return 2;
                }
            }
            catch (Exception e) when (e is ArgumentException or Fer2013FormatException or FileNotFoundException or InvalidDataException)
            {
                error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }

        private static TrainOptions TrainOptionsFrom(Arguments arguments, string[] args)
        {
            foreach (var removed in RemovedTrainOptions)
            {
                if (arguments.Get(removed) is not null)
                {
                    throw new ArgumentException($"--{removed} was removed: measured no better than the default recipe (docs/experiments.md keeps the figures).");
                }
            }
            return new TrainOptions
            {
                DataPath = DataPath(arguments),
                OutputDirectory = arguments.Get("out") ?? "models",
                Epochs = arguments.GetInt("epochs") ?? 60,
                Minutes = arguments.GetDouble("minutes"),
                Seed = arguments.GetInt("seed") ?? 20261124,
                Threads = arguments.GetInt("threads") ?? Environment.ProcessorCount,
                MaxSteps = arguments.GetInt("max-steps"),
                BatchSize = arguments.GetInt("batch") ?? 64,
                TrainCrop = arguments.GetInt("crop") ?? 48,
                EraseProbability = arguments.GetDouble("erase") ?? 0.5,
                LearningRate = arguments.GetDouble("lr") ?? 0.05,
                WeightDecay = arguments.GetDouble("weight-decay") ?? 5e-4,
                LabelSmoothing = arguments.GetDouble("label-smoothing") is { } smoothing
                    ? smoothing <= 1 ? smoothing : throw new ArgumentException("--label-smoothing must be between 0 and 1.")
                    : 0.1,
                MaxTrainingRows = arguments.GetInt("max-rows"),
                Architecture = arguments.Get("arch") ?? "32,32,M,64,64,M,128,128,M,256,256,M",
                InitModelPath = arguments.Get("init") is { } init
                    ? File.Exists(init) ? init : throw new FileNotFoundException($"Initial model '{init}' does not exist.")
                    : null,
                FramingPath = arguments.Get("framing") is { } framing
                    ? File.Exists(framing) ? framing : throw new FileNotFoundException($"Framing file '{framing}' does not exist (write it with the framing command).")
                    : null,
                TeacherTargetsPath = arguments.Get("teacher-targets") is { } teacher
                    ? File.Exists(teacher) ? teacher : throw new FileNotFoundException($"Teacher file '{teacher}' does not exist (write it with the teach command).")
                    : null,
                TeacherWeight = arguments.GetDouble("teacher-weight") is { } weight
                    ? weight is >= 0 and <= 1 ? weight : throw new ArgumentException("--teacher-weight must be between 0 and 1.")
                    : 0.5,
                FramingShare = arguments.GetDouble("framing-share") is { } share
                    ? share is >= 0 and <= 1 ? share : throw new ArgumentException("--framing-share must be between 0 and 1.")
                    : 0.5,
                Jitter = arguments.Get("jitter") switch
                {
                    null or "standard" => JitterKind.Standard,
                    "pipeline" => JitterKind.Pipeline,
                    var other => throw new ArgumentException($"--jitter must be standard or pipeline, not '{other}'."),
                },
                BFloat16 = arguments.Get("precision") switch
                {
                    null or "fp32" => false,
                    "bf16" => true,
                    var other => throw new ArgumentException($"--precision must be fp32 or bf16, not '{other}'."),
                },
                ChannelsLast = arguments.Get("layout") switch
                {
                    null or "nchw" => false,
                    "nhwc" => true,
                    var other => throw new ArgumentException($"--layout must be nchw or nhwc, not '{other}'."),
                },
                Command = CommandLine(args),
                RunDirectory = arguments.Get("run-dir"),
                StopAfterEpochs = arguments.GetInt("stop-after-epochs"),
            };
        }

        /// <summary>Training modes measured as no better and removed (FER+ soft targets, mixup, distillation, BatchNorm re-estimation).</summary>
        private static readonly string[] RemovedTrainOptions =
            ["ferplus", "ferplus-weight", "mixup", "teacher", "distill-weight", "distill-temperature", "recalibrate-bn"];

        /// <summary>
        /// The command as a card records it: without --out (where the files go does not change them), and absolute paths (also in comma
        /// lists) cut to their file names, so a card never carries the directories of the machine that trained it.
        /// </summary>
        private static string CommandLine(string[] args) =>
            "dotnet run -c Release --project src/FerService.Training -- " + string.Join(' ', args
                .Where((_, i) => args[i] != "--out" && (i == 0 || args[i - 1] != "--out"))
                .Select(a => string.Join(',', a.Split(',').Select(part => Path.IsPathFullyQualified(part) ? Path.GetFileName(part) : part))));

        /// <summary><c>Section:Property=value</c> pairs, comma-separated.</summary>
        private static Dictionary<string, string> Settings(string? list)
        {
            var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new ArgumentException($"--set expects Section:Property=value, found '{pair}'.");
                }
                settings[pair[..equals]] = pair[(equals + 1)..];
            }
            return settings;
        }

        internal static string DataPath(Arguments arguments)
        {
            var path = arguments.Get("data") ?? Fer2013Reader.FindDefault()
                ?? throw new FileNotFoundException("No FER2013 data: put fer2013.csv (or .csv.gz) into data/ or pass --data <path>.");
            return File.Exists(path) ? path : throw new FileNotFoundException($"FER2013 data file '{path}' does not exist.");
        }
    }

    internal sealed class Arguments
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public static Arguments Parse(ReadOnlySpan<string> args)
        {
            var result = new Arguments();
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"Expected '--name value', found '{args[i]}'.");
                }
                result._values[args[i][2..]] = args[++i];
            }
            return result;
        }

        public string? Get(string name) => _values.GetValueOrDefault(name);

        public int? GetInt(string name) => Get(name) is { } v
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"--{name} must be a positive integer.")
            : null;

        public double? GetDouble(string name) => Get(name) is { } v
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 ? d : throw new ArgumentException($"--{name} must be a non-negative number.")
            : null;
    }
}
