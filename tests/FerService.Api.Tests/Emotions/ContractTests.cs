using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FerService.Inference.Detection;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Api.Tests.Emotions;

public sealed class ContractTests(FerApiFactory factory) : IClassFixture<FerApiFactory>
{
    private static readonly string[] Labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

    private static void AssertOneWholeImageFace(JsonElement body, int side)
    {
        var labels = body.GetProperty("model").GetProperty("labels").EnumerateArray().Select(l => l.GetString()).ToArray();
        Assert.Equal(Labels, labels);
        var image = Assert.Single(body.GetProperty("images").EnumerateArray());
        Assert.Equal(side, image.GetProperty("width").GetInt32());
        var face = Assert.Single(image.GetProperty("faces").EnumerateArray());
        Assert.Equal(side, face.GetProperty("box").GetProperty("width").GetSingle());
        var emotions = face.GetProperty("emotions");
        Assert.Equal(Labels, emotions.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(1.0, emotions.EnumerateObject().Sum(p => p.Value.GetDouble()), 2);
        Assert.Contains(face.GetProperty("dominantEmotion").GetString(), Labels);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_JsonBase64_WithOrWithoutDataUri_Classifies(bool dataUri)
    {
        var base64 = Convert.ToBase64String(Http.Png(50));
        var data = dataUri ? $"data:image/png;base64,{base64}" : base64;
        var response = await factory.CreateClient().PostAsJsonAsync("/api/emotions?detect=false", new { images = new[] { new { name = "face.png", data } } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOneWholeImageFace(await response.JsonAsync(), 50);
    }

    [Fact]
    public async Task Post_MultipartDetectFalse_ClassifiesWholeImage()
    {
        using var content = Http.Multipart(("image", "face.png", Http.Png(70), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions?detect=false", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOneWholeImageFace(await response.JsonAsync(), 70);
    }

    [Fact]
    public async Task Post_FlatImageWithDetection_FindsNoFace()
    {
        using var content = Http.Multipart(("image", "wall.png", Http.Png(300), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        var image = (await response.JsonAsync()).GetProperty("images")[0];
        Assert.Equal(0, image.GetProperty("faces").GetArrayLength());
    }

    [Fact]
    public async Task GetModel_ReturnsCardWithLabelsAndSha()
    {
        var card = await factory.CreateClient().GetFromJsonAsync<JsonElement>("/api/model");
        Assert.Equal(Labels, card.GetProperty("labels").EnumerateArray().Select(l => l.GetString()).ToArray());
        Assert.Equal(64, card.GetProperty("sha256").GetString()!.Length);
        Assert.True(card.GetProperty("temperature").GetDouble() > 0);
    }

    [Fact]
    public async Task Health_LiveAndReady_ReportProvider()
    {
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await Http.WaitReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.JsonAsync();
        Assert.Equal("CPU", body.GetProperty("checks").GetProperty("models").GetProperty("data").GetProperty("executionProvider").GetString());
    }

    [Fact]
    public async Task Swagger_DocumentsEveryEndpointBodyAndErrorStatus()
    {
        var client = factory.CreateClient();
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/emotions", "/api/model", "/health/live", "/health/ready" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not documented");
        }
        var post = paths.GetProperty("/api/emotions").GetProperty("post");
        var content = post.GetProperty("requestBody").GetProperty("content");
        Assert.True(content.TryGetProperty("multipart/form-data", out _));
        Assert.True(content.TryGetProperty("application/json", out _));
        foreach (var status in new[] { "200", "400", "413", "415", "422", "503" })
        {
            Assert.True(post.GetProperty("responses").TryGetProperty(status, out _), $"status {status} is not documented");
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html")).StatusCode);
    }

    [Fact]
    public async Task Swagger_RequestExample_IsAcceptedAndResponseExampleHasTheResponseShape()
    {
        var client = factory.CreateClient();
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var post = document.GetProperty("paths").GetProperty("/api/emotions").GetProperty("post");
        var request = post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example");
        var response = post.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("example");

        // The request example, sent as it stands, is answered.
        using var body = new StringContent(request.GetRawText(), System.Text.Encoding.UTF8, "application/json");
        var answer = await client.PostAsync("/api/emotions?detect=false", body);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var real = await answer.Content.ReadFromJsonAsync<JsonElement>();

        // The response example has every member a real answer has, at every level that both hold.
        AssertSameMembers(real, response, "$");
        var face = response.GetProperty("images")[0].GetProperty("faces")[0];
        Assert.Equal(1.0, face.GetProperty("emotions").EnumerateObject().Sum(e => e.Value.GetDouble()), 3);
    }

    private static void AssertSameMembers(JsonElement real, JsonElement example, string path)
    {
        Assert.True(Kind(real) == Kind(example), $"{path}: {real.ValueKind} in the answer, {example.ValueKind} in the example");
        if (real.ValueKind == JsonValueKind.Object)
        {
            var names = real.EnumerateObject().Select(p => p.Name).Order().ToArray();
            // detect=false has no landmarks; the example (a detected face) may show them.
            Assert.Empty(names.Except(example.EnumerateObject().Select(p => p.Name)));
            foreach (var name in names)
            {
                AssertSameMembers(real.GetProperty(name), example.GetProperty(name), $"{path}.{name}");
            }
        }
        else if (real.ValueKind == JsonValueKind.Array && real.GetArrayLength() > 0 && example.GetArrayLength() > 0)
        {
            AssertSameMembers(real[0], example[0], $"{path}[0]");
        }
    }

    private static JsonValueKind Kind(JsonElement e) => e.ValueKind == JsonValueKind.False ? JsonValueKind.True : e.ValueKind;

    [Fact]
    public async Task Swagger_QueryOptions_HaveTypeRangeDefaultAndDescription()
    {
        var document = await factory.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var parameters = document.GetProperty("paths").GetProperty("/api/emotions").GetProperty("post").GetProperty("parameters")
            .EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        foreach (var (name, type, minimum, maximum, defaultValue) in new (string, string, double?, double?, string)[]
        {
            ("detect", "boolean", null, null, "true"),
            ("maxFaces", "integer", 1, 50, "50"),
            ("minFaceSize", "number", 0, 16384, new DetectionOptions().MinFaceSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("minScore", "number", 0.01, 0.99, new DetectionOptions().MinScore.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        })
        {
            var parameter = parameters[name];
            var schema = parameter.GetProperty("schema");
            Assert.Equal(type, schema.GetProperty("type").GetString());
            Assert.Equal(defaultValue, schema.GetProperty("default").ToString().ToLowerInvariant());
            if (minimum is not null)
            {
                Assert.Equal(minimum, schema.GetProperty("minimum").GetDouble());
                Assert.Equal(maximum, schema.GetProperty("maximum").GetDouble());
            }
            Assert.False(string.IsNullOrWhiteSpace(parameter.GetProperty("description").GetString()), $"{name} has no description");
        }
    }

    [Fact]
    public async Task GetFaviconIco_AsBrowsersAskForIt_ServesAnIcon()
    {
        var response = await factory.CreateClient().GetAsync("/favicon.ico");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("image/", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var icon = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, icon[..4]);
    }

    [Fact]
    public async Task GetPage_LinkedIcon_ServedAsSvg()
    {
        var client = factory.CreateClient();
        var href = Regex.Match(await client.GetStringAsync("/"), @"<link rel=""icon"" href=""([^""]+)""");
        Assert.True(href.Success, "index.html links no icon");
        var response = await client.GetAsync(new Uri(href.Groups[1].Value, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Post_ExifRotatedJpeg_BoxesInDisplayedCoordinates()
    {
        // A 60×40 JPEG stored landscape but tagged "rotate 90°": the service must report it as 40×60.
        using var bitmap = new SKBitmap(60, 40);
        bitmap.Erase(SKColors.Gray);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        var jpeg = Exif.WithOrientation(data.ToArray(), 6);
        using var content = Http.Multipart(("image", "rotated.jpg", jpeg, "image/jpeg"));
        var response = await factory.CreateClient().PostAsync("/api/emotions?detect=false", content);
        var image = (await response.JsonAsync()).GetProperty("images")[0];
        Assert.Equal(40, image.GetProperty("width").GetInt32());
        Assert.Equal(60, image.GetProperty("height").GetInt32());
        Assert.Equal(60, image.GetProperty("faces")[0].GetProperty("box").GetProperty("height").GetSingle());
    }

    [Fact]
    public async Task Metrics_AfterARequest_ExposePipelineQueueProviderAndRuntimeInPrometheusFormat()
    {
        var client = factory.CreateClient();
        using var content = Http.Multipart(("image", "face.png", Http.Png(60), "image/png"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/emotions", content)).StatusCode);

        var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        foreach (var series in new[]
        {
            "fer_decode_duration_seconds_bucket", "fer_detect_duration_seconds_bucket", "fer_classify_duration_seconds_bucket",
            "fer_faces_per_image_bucket", "fer_classifier_batch_size_bucket", "fer_classifier_queue_wait_seconds_bucket",
            "fer_classifier_queue_length", "http_server_request_duration_seconds_bucket",
            "fer_detector_views_per_image_bucket", "dotnet_process_memory_working_set_bytes", "dotnet_gc_heap_total_allocated_bytes", "dotnet_thread_pool_thread_count",
        })
        {
            Assert.Contains(series, text, StringComparison.Ordinal);
        }
        Assert.Matches(@"(?m)^fer_images_total\{[^}]*outcome=""ok""[^}]*\} [1-9]", text);
        Assert.Matches(@"(?m)^fer_execution_provider\{[^}]*provider=""CPU""[^}]*\} 1", text);
    }

    [Theory]
    [InlineData(1.01, true)]   // every label under the threshold
    [InlineData(0.0, false)]
    public async Task Post_CardUncertaintyThreshold_FlagsFacesUnderIt(double threshold, bool expected)
    {
        var directory = Directory.CreateTempSubdirectory("fer-card-").FullName;
        try
        {
            var card = global::FerService.Inference.Classification.ModelManifest.Load(TestPaths.ServiceClassifierManifest);
            File.Copy(Path.Combine(TestPaths.Models, card.File), Path.Combine(directory, card.File));
            var path = Path.Combine(directory, "card.json");
            (card with { Uncertainty = card.Uncertainty! with { Threshold = threshold } }).Save(path);
            using var withThreshold = new FerApiFactory(("Fer:Models:ClassifierManifest", path));
            using var content = Http.Multipart(("image", "face.png", Http.Png(70), "image/png"));

            var response = await withThreshold.CreateClient().PostAsync("/api/emotions?detect=false", content);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var face = (await response.JsonAsync()).GetProperty("images")[0].GetProperty("faces")[0];
            Assert.Equal(expected, face.GetProperty("uncertain").GetBoolean());
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }
}
