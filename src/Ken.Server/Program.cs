using Ken.Format;
using Ken.Server.Hosting;

try
{
    var app = KenHost.Build(args);
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (KenException ex)
{
    // Configuration and start-up problems are the operator's to fix; the message says how.
    await Console.Error.WriteLineAsync($"ken-server: {ex.Message}").ConfigureAwait(false);
    return 2;
}
