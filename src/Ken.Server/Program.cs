var builder = WebApplication.CreateBuilder(args);
builder.Services.AddGrpc();
var app = builder.Build();
app.MapGet("/", () => "Ken server: gRPC only.");
await app.RunAsync().ConfigureAwait(false);
