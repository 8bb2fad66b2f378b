using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ken.Cli.Terminal;
using Ken.Format.Checkpoints.Safetensors;

namespace Ken.Cli.Commands;

/// <summary><c>ken register</c>, <c>ken unregister</c>, <c>ken tasks</c>, <c>ken task</c>: the server's task registry.</summary>
internal static class TaskCommands
{
    public static Command Register(TextWriter stdout, TextWriter stderr)
    {
        var fileArgument = new Argument<string>("FILE") { Description = "The .ken task delta to upload." };
        var taskOption = new Option<string?>("--task") { Description = "Registry name (default: the task name inside the file, else the file name)." };
        var pinOption = new Option<bool>("--pin") { Description = "Keep the task in host memory regardless of the server's host budget." };
        var overwriteOption = new Option<bool>("--overwrite") { Description = "Replace a task of the same name." };
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var server = new ServerConnection();
        var command = new Command("register", "Upload a .ken delta to a running server as a task.") { fileArgument, taskOption, pinOption, overwriteOption, jsonOption };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(fileArgument);
            if (!File.Exists(path))
            {
                throw new UsageException($"{path} does not exist; pass a .ken file made by `ken prune`.");
            }

            string name = parse.GetValue(taskOption) ?? NameFromFile(path);
            return server.Run(parse, async (client, ct) =>
            {
                long total = new FileInfo(path).Length;
                Ken.V1.TaskInfo info;
                using (var bar = new ProgressBar(stderr, "upload"))
                {
                    info = await client.RegisterAsync(path, name, parse.GetValue(overwriteOption), parse.GetValue(pinOption), new Progress<long>(sent => bar.Report(sent, total, name)), ct);
                }

                var view = TaskView.From(info);
                if (parse.GetValue(jsonOption))
                {
                    stdout.WriteLine(JsonSerializer.Serialize(view, ReportJson.Options));
                }
                else
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"registered {view.Name} ({view.Kind}, {view.Budget}, {Bytes.Format((long)view.Bytes)}) on {client.Address}"));
                }

                return CommandLineApp.Success;
            });
        });
        return command;
    }

    public static Command Unregister(TextWriter stdout)
    {
        var nameArgument = new Argument<string>("NAME") { Description = "The task to remove." };
        var server = new ServerConnection();
        var command = new Command("unregister", "Remove a task from a running server.") { nameArgument };
        server.AddTo(command);
        command.SetAction(parse => server.Run(parse, async (client, ct) =>
        {
            string name = parse.GetRequiredValue(nameArgument);
            await client.UnregisterAsync(name, ct);
            stdout.WriteLine($"unregistered {name} from {client.Address}");
            return CommandLineApp.Success;
        }));
        return command;
    }

    public static Command List(TextWriter stdout)
    {
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var server = new ServerConnection();
        var command = new Command("tasks", "List the tasks registered on a running server.") { jsonOption };
        server.AddTo(command);
        command.SetAction(parse => server.Run(parse, async (client, ct) =>
        {
            var tasks = await client.ListTasksAsync(ct);
            var views = tasks.Select(TaskView.From).ToList();
            if (parse.GetValue(jsonOption))
            {
                stdout.WriteLine(JsonSerializer.Serialize(views, ReportJson.Options));
                return CommandLineApp.Success;
            }

            if (views.Count == 0)
            {
                stdout.WriteLine($"no tasks registered on {client.Address}; add one with `ken register FILE.ken`.");
                return CommandLineApp.Success;
            }

            var table = new TextTable("name", "kind", "budget", "method", "size", "tier", "pinned", "requests", "swaps");
            foreach (var t in views)
            {
                table.Add(t.Name, t.Kind, t.Budget, t.Method, Bytes.Format((long)t.Bytes), t.Tier, t.Pinned ? "yes" : "no",
                    t.RequestCount.ToString(CultureInfo.InvariantCulture), t.SwapCount.ToString(CultureInfo.InvariantCulture));
            }

            table.Write(stdout);
            return CommandLineApp.Success;
        }));
        return command;
    }

    public static Command Show(TextWriter stdout)
    {
        var nameArgument = new Argument<string>("NAME") { Description = "The task to show." };
        var jsonOption = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var server = new ServerConnection();
        var command = new Command("task", "Show one task on a running server.") { nameArgument, jsonOption };
        server.AddTo(command);
        command.SetAction(parse => server.Run(parse, async (client, ct) =>
        {
            var t = TaskView.From(await client.GetTaskAsync(parse.GetRequiredValue(nameArgument), ct));
            if (parse.GetValue(jsonOption))
            {
                stdout.WriteLine(JsonSerializer.Serialize(t, ReportJson.Options));
                return CommandLineApp.Success;
            }

            var inv = CultureInfo.InvariantCulture;
            stdout.WriteLine($"name           {t.Name}");
            stdout.WriteLine($"kind           {t.Kind}");
            stdout.WriteLine($"labels         {(t.Labels.Count == 0 ? "-" : string.Join(", ", t.Labels))}");
            stdout.WriteLine($"budget         {t.Budget}");
            stdout.WriteLine($"method         {t.Method}");
            stdout.WriteLine($"size           {Bytes.Format((long)t.Bytes)}");
            stdout.WriteLine($"resident       {Bytes.Format((long)t.ResidentBytes)}");
            stdout.WriteLine($"base model     {t.BaseModel}");
            stdout.WriteLine($"tier           {t.Tier}");
            stdout.WriteLine($"pinned         {(t.Pinned ? "yes" : "no")}");
            stdout.WriteLine(string.Create(inv, $"requests       {t.RequestCount}"));
            stdout.WriteLine(string.Create(inv, $"swaps          {t.SwapCount}"));
            stdout.WriteLine($"registered at  {t.RegisteredAt?.ToString("u", inv) ?? "-"}");
            return CommandLineApp.Success;
        }));
        return command;
    }

    private static string NameFromFile(string path)
    {
        try
        {
            using var file = SafetensorsFile.Open(path);
            if (file.Metadata.TryGetValue("task", out var task) && !string.IsNullOrWhiteSpace(task))
            {
                return task;
            }
        }
        catch (Exception e) when (e is Ken.Format.KenException or IOException or InvalidDataException)
        {
            // The server validates the file and says what is wrong with it; the name falls back to the file's.
        }

        return Path.GetFileNameWithoutExtension(path);
    }
}
