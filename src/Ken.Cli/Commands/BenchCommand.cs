using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ken.Cli.Bench;
using Ken.Cli.Terminal;
using Ken.Client;
using Ken.Format;

namespace Ken.Cli.Commands;

/// <summary><c>ken bench</c>: a bounded load generator against a running server, with a latency/throughput report.</summary>
internal static class BenchCommand
{
    public const string DefaultMetricsUrl = "http://127.0.0.1:9464/metrics";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var concurrencyOption = new Option<int>("--concurrency", "-c") { Description = "Closed loop: callers, each waiting for its reply before the next request.", DefaultValueFactory = _ => 8 };
        var rateOption = new Option<double?>("--rate") { Description = "Open loop: Poisson arrivals at R requests/s (replaces --concurrency)." };
        var tasksOption = new Option<string?>("--tasks") { Description = "Comma-separated tasks, most popular first (default: every registered task)." };
        var prefixOption = new Option<string?>("--tasks-prefix") { Description = "Every registered task whose name starts with P." };
        var zipfOption = new Option<double>("--zipf") { Description = "Zipf exponent of task popularity (0: uniform).", DefaultValueFactory = _ => 0 };
        var textsOption = new Option<string?>("--texts") { Description = "Texts, JSON Lines (a string or {\"text\": ...} per line); default: a built-in sample." };
        var batchOption = new Option<int>("--batch") { Description = "Texts per request.", DefaultValueFactory = _ => 1 };
        var durationOption = new Option<double>("--duration") { Description = "Seconds of measured load after warm-up.", DefaultValueFactory = _ => 10 };
        var warmupOption = new Option<double>("--warmup") { Description = "Seconds of unmeasured load first.", DefaultValueFactory = _ => 1 };
        var maxRequestsOption = new Option<long?>("--max-requests") { Description = "Stop after this many measured requests (or at --duration, whichever is first)." };
        var seedOption = new Option<int>("--seed") { Description = "Seed of the task, text and arrival choices.", DefaultValueFactory = _ => 1 };
        var metricsOption = new Option<string>("--metrics-url") { Description = "The server's Prometheus endpoint, read before and after ('none' skips).", DefaultValueFactory = _ => DefaultMetricsUrl };
        var jsonOption = new Option<string?>("--json") { Description = "Also write the report as JSON to FILE (- for stdout, replacing the table)." };
        var plotOption = new Option<string?>("--plot") { Description = "Write latency and throughput over time to FILE.png." };
        var server = new ServerConnection();
        var command = new Command("bench", "Send bounded load to a running server and report throughput, latency and swaps.")
        {
            concurrencyOption, rateOption, tasksOption, prefixOption, zipfOption, textsOption, batchOption, durationOption,
            warmupOption, maxRequestsOption, seedOption, metricsOption, jsonOption, plotOption,
        };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var settings = new BenchSettings
            {
                Concurrency = Positive(parse.GetValue(concurrencyOption), "--concurrency"),
                Rate = parse.GetValue(rateOption) is { } r ? (r > 0 && double.IsFinite(r) ? r : throw new UsageException("--rate must be a positive number of requests per second.")) : null,
                Zipf = parse.GetValue(zipfOption) is var z && z >= 0 && double.IsFinite(z) ? z : throw new UsageException("--zipf must be 0 or more."),
                Batch = Positive(parse.GetValue(batchOption), "--batch"),
                Duration = Seconds(parse.GetValue(durationOption), "--duration", allowZero: false),
                Warmup = Seconds(parse.GetValue(warmupOption), "--warmup", allowZero: true),
                MaxRequests = parse.GetValue(maxRequestsOption) is { } m ? (m >= 1 ? m : throw new UsageException("--max-requests must be at least 1.")) : null,
                Seed = parse.GetValue(seedOption),
            };
            if (parse.GetValue(tasksOption) is not null && parse.GetValue(prefixOption) is not null)
            {
                throw new UsageException("pass --tasks or --tasks-prefix, not both.");
            }

            var texts = parse.GetValue(textsOption) is { } file ? TextInputs.ReadJsonLines(file) : [.. SampleTexts.All];
            if (texts.Count == 0)
            {
                throw new UsageException("--texts holds no texts; write one per line.");
            }

            string metricsUrl = parse.GetRequiredValue(metricsOption);
            string? json = parse.GetValue(jsonOption);
            string? plotPath = parse.GetValue(plotOption);

            // Retries would hide the errors a load test is meant to count.
            return server.Run(
                parse,
                async (client, ct) =>
                {
                    var tasks = await ResolveTasksAsync(client, parse.GetValue(tasksOption), parse.GetValue(prefixOption), ct);
                    var report = await RunAsync(client, settings, tasks, texts, metricsUrl, stderr, ct);
                    if (json is not null)
                    {
                        string text = JsonSerializer.Serialize(report, ReportJson.Options);
                        if (json == "-")
                        {
                            stdout.WriteLine(text);
                        }
                        else
                        {
                            OutputPaths.EnsureFolderExists(Path.GetFullPath(json));
                            await File.WriteAllTextAsync(json, text + Environment.NewLine, ct);
                        }
                    }

                    if (json != "-")
                    {
                        Print(report, stdout);
                    }

                    if (plotPath is not null)
                    {
                        OutputPaths.EnsureFolderExists(Path.GetFullPath(plotPath));
                        BenchPlot.Save(report, plotPath);
                    }

                    return CommandLineApp.Success;
                },
                maxRetries: 0);
        });
        return command;
    }

    private static async Task<BenchReport> RunAsync(KenClient client, BenchSettings settings, List<BenchTask> tasks, List<string> texts, string metricsUrl, TextWriter stderr, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        bool scrape = !metricsUrl.Equals("none", StringComparison.OrdinalIgnoreCase);
        MetricsSnapshot? before = null;
        string? metricsError = null;
        async Task TakeBefore()
        {
            try
            {
                before = await MetricsSnapshot.ScrapeAsync(http, metricsUrl, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
            {
                metricsError = $"could not read {metricsUrl} ({e.Message}); pass --metrics-url for this server.";
            }
        }

        var generator = new LoadGenerator(client, settings, tasks, texts);
        BenchReport report;
        using (var bar = new ProgressBar(stderr, "bench"))
        using (var progressStop = new CancellationTokenSource())
        {
            var progress = Task.Run(async () =>
            {
                double total = settings.Duration.TotalSeconds;
                while (!progressStop.IsCancellationRequested)
                {
                    double elapsed = generator.ElapsedSeconds;
                    string state = elapsed < 0
                        ? string.Create(CultureInfo.InvariantCulture, $"warm-up {-elapsed:F1}s left")
                        : string.Create(CultureInfo.InvariantCulture, $"{generator.Responses} ok, {generator.Failed} errors, {generator.Responses / Math.Max(elapsed, 1e-3):F0} req/s");
                    bar.Report((long)(Math.Max(0, elapsed) * 1000), (long)(total * 1000) + 1, state);
                    try
                    {
                        await Task.Delay(250, progressStop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }, CancellationToken.None);
            report = await generator.RunAsync(scrape ? TakeBefore : null, ct);
            await progressStop.CancelAsync();
            await progress;
        }

        if (scrape && before is not null)
        {
            try
            {
                var after = await MetricsSnapshot.ScrapeAsync(http, metricsUrl, ct);
                double seconds = Math.Max(1e-9, (after.TakenAt - before.TakenAt).TotalSeconds);
                double swaps = after.Swaps - before.Swaps;
                double hits = after.SlotHits - before.SlotHits;
                double batches = after.Batches - before.Batches;
                double requests = after.Requests - before.Requests;

                // A batch either found its task in a slot (a hit) or needed a swap; fall back to requests on servers without batch counts.
                double denominator = batches > 0 ? batches : requests;
                report = report with { ServerCounters = new ServerCounters(swaps, swaps / seconds, hits, batches, denominator > 0 ? hits / denominator : null, requests) };
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                metricsError = $"could not read {metricsUrl} after the run ({e.Message}).";
            }
        }

        return report with { MetricsError = scrape ? metricsError : null };
    }

    private static async Task<List<BenchTask>> ResolveTasksAsync(KenClient client, string? names, string? prefix, CancellationToken ct)
    {
        var registered = (await client.ListTasksAsync(ct)).ToDictionary(t => t.Name, StringComparer.Ordinal);
        List<string> chosen;
        if (names is not null)
        {
            chosen = [.. names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            foreach (var name in chosen)
            {
                if (!registered.ContainsKey(name))
                {
                    throw new KenException($"task \"{name}\" is not registered on {client.Address} (NotFound); register it with `ken register` or list tasks with `ken tasks`.");
                }
            }
        }
        else
        {
            chosen = [.. registered.Keys.Where(n => prefix is null || n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        }

        if (chosen.Count == 0)
        {
            throw new KenException(prefix is null
                ? $"no tasks to load: none are registered on {client.Address}; register one with `ken register FILE.ken`."
                : $"no registered task on {client.Address} starts with \"{prefix}\"; list them with `ken tasks`.");
        }

        return [.. chosen.Select(n => new BenchTask(n, registered[n].Kind != Ken.V1.TaskKind.Embedding))];
    }

    private static void Print(BenchReport r, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        string load = r.Rate is { } rate ? string.Create(inv, $"open loop, {rate:0.##} req/s Poisson") : string.Create(inv, $"closed loop, concurrency {r.Concurrency}");
        o.WriteLine(string.Create(inv, $"ken bench: {r.Server}, {load}, {r.Tasks.Count} task(s), zipf {r.Zipf:0.##}, batch {r.Batch}"));
        var table = new TextTable("metric", "value");
        table.Add("elapsed", string.Create(inv, $"{r.ElapsedSeconds:F2} s (after {r.WarmupSeconds:0.##} s warm-up)"));
        table.Add("requests", r.Requests.ToString(inv));
        table.Add("responses", r.Responses.ToString(inv));
        table.Add("errors", r.Errors.ToString(inv));
        table.Add("throughput", string.Create(inv, $"{r.ThroughputRps:F1} req/s, {r.TextsPerSecond:F1} texts/s"));
        table.Add("latency mean", Ms(r.LatencyMs.Mean));
        table.Add("latency p50", Ms(r.LatencyMs.P50));
        table.Add("latency p90", Ms(r.LatencyMs.P90));
        table.Add("latency p99", Ms(r.LatencyMs.P99));
        table.Add("latency p99.9", Ms(r.LatencyMs.P999));
        table.Add("latency max", Ms(r.LatencyMs.Max));
        foreach (var (status, count) in r.ErrorsByStatus.OrderByDescending(e => e.Value))
        {
            table.Add("errors " + status, count.ToString(inv));
        }

        if (r.ServerCounters is { } s)
        {
            table.Add("server swaps", string.Create(inv, $"{s.Swaps:F0} ({s.SwapsPerSecond:F1}/s)"));
            table.Add("server slot hit rate", s.SlotHitRate is { } h ? string.Create(inv, $"{100 * h:F1} %") : "n/a");
        }
        else
        {
            table.Add("server swaps", "n/a");
            table.Add("server slot hit rate", "n/a");
        }

        if (r.ClientLag is { } lag)
        {
            table.Add("client late arrivals", string.Create(inv, $"{lag.LateArrivals} (max lag {lag.MaxLagMs:F1} ms)"));
            table.Add("client dropped", lag.Dropped.ToString(inv));
        }

        table.Write(o);
        if (r.MetricsError is not null)
        {
            o.WriteLine("note: " + r.MetricsError);
        }

        if (r.ClientLag is { FellBehind: true })
        {
            o.WriteLine("warning: the client fell behind its arrival schedule; the offered rate was not reached. Lower --rate or run the client on another machine.");
        }
    }

    private static string Ms(double ms) => ms.ToString("F2", CultureInfo.InvariantCulture) + " ms";

    private static int Positive(int value, string flag) =>
        value >= 1 ? value : throw new UsageException($"{flag} must be at least 1.");

    private static TimeSpan Seconds(double value, string flag, bool allowZero) =>
        double.IsFinite(value) && (value > 0 || (allowZero && value == 0)) ? TimeSpan.FromSeconds(value) : throw new UsageException($"{flag} must be a {(allowZero ? "non-negative" : "positive")} number of seconds.");
}
