using System.Text.Json;
using Ken.Cli.Bench;
using Ken.Format.Checkpoints;
using Ken.Format.Deltas;

namespace Ken.Cli.Tests;

public sealed class ServerCommandsTests(LiveServerFixture fx) : IClassFixture<LiveServerFixture>
{
    [Fact]
    public void Health_reports_serving_as_json()
    {
        var r = fx.Ken("health", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("SERVING", doc.RootElement.GetProperty("status").GetString());
        Assert.True(doc.RootElement.GetProperty("serving").GetBoolean());
    }

    [Fact]
    public void Register_then_list_get_embed_and_unregister()
    {
        var reg = fx.Ken("register", fx.DeltaPath, "--task", "flow", "--pin", "--json");
        Assert.True(reg.ExitCode == 0, reg.Stderr);
        using (var doc = JsonDocument.Parse(reg.Stdout))
        {
            Assert.Equal("flow", doc.RootElement.GetProperty("name").GetString());
            Assert.Equal("embedding", doc.RootElement.GetProperty("kind").GetString());
            Assert.True(doc.RootElement.GetProperty("pinned").GetBoolean());
            Assert.Equal(new FileInfo(fx.DeltaPath).Length, doc.RootElement.GetProperty("bytes").GetInt64());
        }

        var again = fx.Ken("register", fx.DeltaPath, "--task", "flow");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("AlreadyExists", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, fx.Ken("register", fx.DeltaPath, "--task", "flow", "--overwrite").ExitCode);

        var list = fx.Ken("tasks", "--json");
        Assert.True(list.ExitCode == 0, list.Stderr);
        using (var doc = JsonDocument.Parse(list.Stdout))
        {
            Assert.Contains(doc.RootElement.EnumerateArray(), t => t.GetProperty("name").GetString() == "flow");
        }

        var table = fx.Ken("tasks");
        Assert.Contains("flow", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("embedding", table.Stdout, StringComparison.Ordinal);

        var embed = fx.Ken("embed", "--task", "flow", "hello world", "a second text", "--json");
        Assert.True(embed.ExitCode == 0, embed.Stderr);
        using (var doc = JsonDocument.Parse(embed.Stdout))
        {
            var embeddings = doc.RootElement.GetProperty("embeddings");
            Assert.Equal(2, embeddings.GetArrayLength());
            Assert.Equal(384, embeddings[0].GetProperty("dim").GetInt32());
            Assert.Equal(384, embeddings[0].GetProperty("values").GetArrayLength());
            Assert.Equal("hello world", embeddings[0].GetProperty("text").GetString());
        }

        var get = fx.Ken("task", "flow", "--json");
        Assert.True(get.ExitCode == 0, get.Stderr);
        using (var doc = JsonDocument.Parse(get.Stdout))
        {
            Assert.Equal("flow", doc.RootElement.GetProperty("name").GetString());
            Assert.Equal("magnitude", doc.RootElement.GetProperty("method").GetString());
            Assert.True(doc.RootElement.GetProperty("request_count").GetInt64() >= 1);
        }

        var gone = fx.Ken("unregister", "flow");
        Assert.True(gone.ExitCode == 0, gone.Stderr);
        var missing = fx.Ken("task", "flow");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("NotFound", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Embed_reads_texts_from_a_jsonl_file_and_prints_a_table()
    {
        Assert.Equal(0, fx.Ken("register", fx.DeltaPath, "--task", "filetexts", "--overwrite").ExitCode);
        string file = fx.NewPath("in.jsonl");
        File.WriteAllLines(file, ["\"plain string\"", "", "{\"text\": \"object text\"}"]);
        var r = fx.Ken("embed", "--task", "filetexts", "--file", file);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("plain string", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("object text", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("384", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_on_an_unknown_task_is_not_found()
    {
        var r = fx.Ken("classify", "--task", "no-such-task", "hello", "--json");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("ken: error: ", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("NotFound", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Classify_returns_the_head_s_label_and_scores()
    {
        // A classifier whose head ignores its input: zero weights and biases (2, -2), so every text is
        // "yes" with softmax(2, -2)[0]; one patched value (unchanged) ties the delta to minilm.
        string path = fx.NewPath("constant-classifier.ken");
        using (var minilm = CheckpointLoader.Open("minilm"))
        {
            const string name = "embeddings.LayerNorm.bias";
            minilm.TryGetInfo(name, out var info);
            var data = new float[info.ElementCount];
            minilm.ReadFloat32(name, data);
            var mask = new byte[MaskBits.ByteLength(data.Length)];
            MaskBits.Set(mask, 0);
            var patched = new PatchedTensor(name, info.Shape, mask, [data[0]], TensorDType.F32, TensorFingerprint.Compute(data));
            var metadata = new KenDeltaMetadata
            {
                Task = "constant",
                Kind = TaskKind.Classification,
                Labels = ["yes", "no"],
                Pooling = PoolingMode.Pooler,
                Method = "magnitude",
                K = 1,
                CreatedBy = "test",
            };
            var heads = new[]
            {
                new HeadTensor("classifier.weight", [2, 384], new float[2 * 384], TensorDType.F32),
                new HeadTensor("classifier.bias", [2], [2f, -2f], TensorDType.F32),
            };
            KenDeltaWriter.Write(path, new KenDelta(metadata, [patched], heads));
        }

        Assert.Equal(0, fx.Ken("register", path, "--task", "constant", "--overwrite").ExitCode);
        var r = fx.Ken("classify", "--task", "constant", "a first text", "another one", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var results = doc.RootElement.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        double expected = Math.Exp(2) / (Math.Exp(2) + Math.Exp(-2));
        foreach (var result in results.EnumerateArray())
        {
            Assert.Equal("yes", result.GetProperty("label").GetString());
            Assert.Equal(expected, result.GetProperty("score").GetDouble(), 5);
            Assert.Equal(2, result.GetProperty("scores").GetArrayLength());
        }

        var table = fx.Ken("classify", "--task", "constant", "a first text");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("yes", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_on_an_embedding_task_is_invalid_argument()
    {
        Assert.Equal(0, fx.Ken("register", fx.DeltaPath, "--task", "notaclassifier", "--overwrite").ExitCode);
        var r = fx.Ken("classify", "--task", "notaclassifier", "hello");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("InvalidArgument", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_token_is_permission_denied()
    {
        var r = CliRunner.Run("tasks", "--server", fx.Address, "--token", "wrong-token-wrong-token-wrong");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("PermissionDenied", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Token_is_read_from_a_local_data_dir()
    {
        string dataDir = fx.NewPath("fake-data");
        Directory.CreateDirectory(dataDir);
        File.WriteAllText(Path.Combine(dataDir, "admin.token"), LiveServerFixture.Token + "\n");
        var r = CliRunner.Run("tasks", "--server", fx.Address, "--data-dir", dataDir, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    [Fact]
    public void Unreachable_server_fails_with_one_line()
    {
        var r = CliRunner.Run("health", "--server", "http://127.0.0.1:1");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("ken: error: server unreachable at http://127.0.0.1:1 (Unavailable); start it with `dotnet run --project src/Ken.Server` or pass --server.", r.Stderr.Trim());
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, CliRunner.Run("classify", "hello").ExitCode);
        Assert.Equal(2, CliRunner.Run("classify", "--task", "x", "--server", fx.Address).ExitCode);
        Assert.Equal(2, CliRunner.Run("health", "--server", "not a url").ExitCode);
        Assert.Equal(2, CliRunner.Run("bench", "--server", fx.Address, "--concurrency", "0").ExitCode);
    }

    [Fact]
    public void Bench_runs_a_bounded_load_and_its_counts_add_up()
    {
        Assert.Equal(0, fx.Ken("register", fx.DeltaPath, "--task", "bench-a", "--overwrite").ExitCode);
        Assert.Equal(0, fx.Ken("register", fx.DeltaPath, "--task", "bench-b", "--overwrite").ExitCode);
        string json = fx.NewPath("bench.json");
        var r = fx.Ken("bench", "--tasks-prefix", "bench-", "--zipf", "1", "--concurrency", "4", "--max-requests", "40", "--duration", "60", "--warmup", "0", "--metrics-url", fx.MetricsUrl, "--json", json);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("latency p99", r.Stdout, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        long requests = root.GetProperty("requests").GetInt64();
        long responses = root.GetProperty("responses").GetInt64();
        long errors = root.GetProperty("errors").GetInt64();
        Assert.Equal(40, requests);
        Assert.Equal(requests, responses + errors);
        Assert.Equal(0, errors);
        Assert.Equal(2, root.GetProperty("tasks").GetArrayLength());
        var latency = root.GetProperty("latency_ms");
        Assert.True(latency.GetProperty("p50").GetDouble() > 0);
        Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("p99").GetDouble());
        Assert.True(latency.GetProperty("p99").GetDouble() <= latency.GetProperty("max").GetDouble());
        long timelineResponses = root.GetProperty("timeline").EnumerateArray().Sum(p => p.GetProperty("responses").GetInt64());
        Assert.Equal(responses, timelineResponses);
        var server = root.GetProperty("server_counters");
        // The counters are read before the first request is sent (no warm-up) and after the last is answered.
        double serverRequests = server.GetProperty("requests").GetDouble();
        Assert.True(serverRequests >= 40, $"the server counted {serverRequests} requests during the run; 40 were answered");
    }

    [Fact]
    public void Bench_open_loop_sends_every_arrival_of_its_schedule_and_stops_at_the_window_s_end()
    {
        // The arrival schedule depends only on seed and rate, so the number of arrivals in the window
        // is known before the run; however slow the server or this machine, each one is sent (late
        // if need be) and answered, and none after the window.
        const double rate = 40, seconds = 1;
        const int seed = 7;
        long scheduled = PoissonArrivals.CountBetween(rate, seed, 0, seconds);
        Assert.InRange(scheduled, 20, 60);
        Assert.Equal(0, fx.Ken("register", fx.DeltaPath, "--task", "open-a", "--overwrite").ExitCode);

        var r = fx.Ken("bench", "--tasks", "open-a", "--rate", "40", "--duration", "1", "--warmup", "0", "--seed", "7", "--metrics-url", "none", "--json", "-");

        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("open", root.GetProperty("mode").GetString());
        Assert.Equal(0, root.GetProperty("client_lag").GetProperty("dropped").GetInt64());
        Assert.Equal(scheduled, root.GetProperty("requests").GetInt64());
        Assert.Equal(scheduled, root.GetProperty("responses").GetInt64());
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.Equal(scheduled, root.GetProperty("timeline").EnumerateArray().Sum(p => p.GetProperty("responses").GetInt64()));
    }

    [Fact]
    public void Poisson_arrivals_follow_their_rate_and_repeat_for_a_seed()
    {
        // Mean 10 000, standard deviation 100: a count outside ±500 would be a broken generator, not chance.
        Assert.InRange(PoissonArrivals.CountBetween(1000, seed: 1, 0, 10), 9500, 10500);
        Assert.Equal(PoissonArrivals.CountBetween(50, seed: 3, 0, 2), PoissonArrivals.CountBetween(50, seed: 3, 0, 2));
        Assert.Equal(
            PoissonArrivals.CountBetween(50, seed: 3, 0, 4),
            PoissonArrivals.CountBetween(50, seed: 3, 0, 1) + PoissonArrivals.CountBetween(50, seed: 3, 1, 4));
        Assert.NotEqual(PoissonArrivals.CountBetween(50, seed: 3, 0, 100), PoissonArrivals.CountBetween(50, seed: 4, 0, 100));
    }

    [Fact]
    public void Bench_with_an_unknown_task_is_not_found()
    {
        var r = fx.Ken("bench", "--tasks", "does-not-exist", "--max-requests", "1", "--metrics-url", "none");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("NotFound", r.Stderr, StringComparison.Ordinal);
    }
}
