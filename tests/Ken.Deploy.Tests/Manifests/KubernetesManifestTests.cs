using Ken.Deploy.Tests.Routing;
using Ken.Deploy.Tests.Support;

namespace Ken.Deploy.Tests.Manifests;

/// <summary>
/// deploy/k8s rendered by the real kustomize (<c>kubectl kustomize</c>, offline) and checked for the
/// mistakes a cluster would only show at apply or run time: selectors that match no pods, ports that
/// do not exist, probes on the wrong port, references to ConfigMap or Secret keys that nobody creates.
/// </summary>
public sealed class KubernetesManifestTests
{
    /// <summary>Secrets the operator creates (docs/DEPLOY.md says how), with the keys the manifests read.</summary>
    private static readonly Dictionary<string, string[]> OperatorSecrets = new(StringComparer.Ordinal) { ["ken-admin-token"] = ["token"] };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_manifest_file_parses_as_yaml_with_a_kind()
    {
        var files = Directory.GetFiles(Tools.Deploy("k8s"), "*.yaml", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            var documents = Yaml.Documents(File.ReadAllText(file));
            Assert.NotEmpty(documents);
            Assert.All(documents, d => Assert.False(string.IsNullOrEmpty(Yaml.Text(d, "kind")), $"{file}: a document without kind"));
        }
    }

    [Theory]
    [InlineData("base")]
    [InlineData("overlays/gpu")]
    public async Task The_rendered_objects_agree_on_labels_ports_probes_and_references(string kustomization)
    {
        var objects = await RenderAsync(kustomization);
        var deployments = objects.OfKind("Deployment").ToList();
        Assert.Equal(["ken-proxy", "ken-server"], deployments.Select(d => d.Name()).Order());

        foreach (var deployment in deployments)
        {
            var podLabels = Yaml.StringMap(deployment, "spec.template.metadata.labels");
            Assert.NotEmpty(Yaml.StringMap(deployment, "spec.selector.matchLabels"));
            Assert.All(Yaml.StringMap(deployment, "spec.selector.matchLabels"), l => Assert.Equal(l.Value, podLabels.GetValueOrDefault(l.Key)));

            var containers = Yaml.Maps(deployment, "spec.template.spec.containers").ToList();
            var ports = ContainerPorts(containers);
            foreach (var container in containers)
            {
                foreach (string probe in (string[])["startupProbe", "readinessProbe", "livenessProbe"])
                {
                    if (Yaml.At(container, probe) is { } p)
                    {
                        string? port = Yaml.Text(p, "grpc.port") ?? Yaml.Text(p, "httpGet.port") ?? Yaml.Text(p, "tcpSocket.port");
                        Assert.True(port is not null && ports.ContainsKey(port), $"{deployment.Name()}: {probe} port {port} is not a container port");
                    }
                }

                Assert.Equal("true", Yaml.Text(container, "securityContext.readOnlyRootFilesystem"));
                Assert.Equal("false", Yaml.Text(container, "securityContext.allowPrivilegeEscalation"));
                foreach (var env in Yaml.Maps(container, "env"))
                {
                    if (Yaml.At(env, "valueFrom.secretKeyRef") is { } secret)
                    {
                        AssertSecretKey(objects, Yaml.Text(secret, "name")!, Yaml.Text(secret, "key")!);
                    }

                    if (Yaml.At(env, "valueFrom.configMapKeyRef") is { } config)
                    {
                        AssertConfigMapKey(objects, Yaml.Text(config, "name")!, Yaml.Text(config, "key")!);
                    }
                }

                var mounts = Yaml.Maps(container, "volumeMounts").Select(m => Yaml.Text(m, "name")).ToHashSet();
                var volumes = Yaml.Maps(deployment, "spec.template.spec.volumes").Select(v => Yaml.Text(v, "name")).ToHashSet();
                Assert.Subset(volumes, mounts);
            }

            Assert.Equal("true", Yaml.Text(deployment, "spec.template.spec.securityContext.runAsNonRoot"));
            if (Yaml.StringMap(deployment, "spec.template.metadata.annotations").GetValueOrDefault("prometheus.io/port") is { } scrapePort)
            {
                Assert.True(ports.ContainsKey(scrapePort), $"{deployment.Name()}: prometheus.io/port {scrapePort} is not a container port");
            }

            foreach (var volume in Yaml.Maps(deployment, "spec.template.spec.volumes"))
            {
                if (Yaml.Text(volume, "configMap.name") is { } configMap)
                {
                    foreach (var item in Yaml.Maps(volume, "configMap.items"))
                    {
                        AssertConfigMapKey(objects, configMap, Yaml.Text(item, "key")!);
                    }

                    Assert.Contains(objects.OfKind("ConfigMap"), c => c.Name() == configMap);
                }

                if (Yaml.Text(volume, "persistentVolumeClaim.claimName") is { } claim)
                {
                    Assert.Contains(objects.OfKind("PersistentVolumeClaim"), c => c.Name() == claim);
                }
            }
        }

        foreach (var service in objects.OfKind("Service"))
        {
            var selector = Yaml.StringMap(service, "spec.selector");
            var target = Assert.Single(deployments, d => Selects(selector, Yaml.StringMap(d, "spec.template.metadata.labels")));
            var ports = ContainerPorts(Yaml.Maps(target, "spec.template.spec.containers"));
            foreach (var port in Yaml.Maps(service, "spec.ports"))
            {
                string targetPort = Yaml.Text(port, "targetPort") ?? Yaml.Text(port, "port")!;
                Assert.True(ports.ContainsKey(targetPort), $"Service {service.Name()}: targetPort {targetPort} is not a port of {target.Name()}");
            }
        }

        foreach (var budget in objects.OfKind("PodDisruptionBudget"))
        {
            Assert.Contains(deployments, d => Selects(Yaml.StringMap(budget, "spec.selector.matchLabels"), Yaml.StringMap(d, "spec.template.metadata.labels")));
        }

        var registry = Assert.Single(objects.OfKind("PersistentVolumeClaim"));
        Assert.Equal("ReadWriteMany", Assert.Single((List<object>)Yaml.At(registry, "spec.accessModes")!));
    }

    [Fact]
    public async Task The_gpu_overlay_asks_for_one_gpu_and_runs_with_device_cuda()
    {
        var objects = await RenderAsync("overlays/gpu");
        var server = Assert.Single(Yaml.Maps(Assert.Single(objects.OfKind("Deployment"), d => d.Name() == "ken-server"), "spec.template.spec.containers"));

        Assert.Equal("1", Yaml.StringMap(server, "resources.limits").GetValueOrDefault("nvidia.com/gpu"));
        var args = ((List<object>)Yaml.At(server, "args")!).Cast<string>().ToList();
        Assert.Equal("cuda", args[args.IndexOf("--device") + 1]);
        Assert.Equal("ken-server:cuda", Yaml.Text(server, "image"));

        // The base's other flags survive the patch.
        var baseServer = Assert.Single(Yaml.Maps(Assert.Single((await RenderAsync("base")).OfKind("Deployment"), d => d.Name() == "ken-server"), "spec.template.spec.containers"));
        Assert.Subset(args.ToHashSet(), ((List<object>)Yaml.At(baseServer, "args")!).Cast<string>().ToHashSet());
    }

    [Fact]
    public async Task The_proxy_config_map_is_the_shipped_haproxy_config_with_discovered_servers()
    {
        var objects = await RenderAsync("base");
        var configMap = Assert.Single(objects.OfKind("ConfigMap"), c => c.Name().StartsWith("ken-proxy", StringComparison.Ordinal));
        string inCluster = Yaml.StringMap(configMap, "data")["haproxy.cfg"];
        string template = await File.ReadAllTextAsync(Tools.Deploy("haproxy", "haproxy.cfg"), Ct);

        // Only the server blocks (and the two-line header saying so) differ.
        string body = string.Join('\n', inCluster.Split('\n').SkipWhile(l => l.StartsWith("# Generated", StringComparison.Ordinal) || l.StartsWith("# Keep the two", StringComparison.Ordinal)));
        Assert.Equal(HaproxyConfig.WithoutServers(template), HaproxyConfig.WithoutServers(body));
        Assert.Contains("server-template ken", inCluster, StringComparison.Ordinal);

        // The proxy listens where its container port says.
        var proxy = Assert.Single(Yaml.Maps(Assert.Single(objects.OfKind("Deployment"), d => d.Name() == "ken-proxy"), "spec.template.spec.containers"));
        var env = Yaml.Maps(proxy, "env").ToDictionary(e => Yaml.Text(e, "name")!, e => Yaml.Text(e, "value"));
        var ports = ContainerPorts([proxy]);
        Assert.Equal(":" + ports["grpc"], env["KEN_PROXY_BIND"]);
        Assert.Equal(":" + ports["stats"], env["KEN_PROXY_STATS_BIND"]);
    }

    [Fact]
    public async Task Both_haproxy_configs_pass_haproxy_check()
    {
        string haproxy = Tools.Require("haproxy", "haproxy");
        foreach (string config in (string[])[Tools.Deploy("haproxy", "haproxy.cfg"), Tools.Deploy("k8s", "base", "proxy", "haproxy.cfg")])
        {
            var start = new System.Diagnostics.ProcessStartInfo(haproxy) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in (string[])["-c", "-f", config])
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["KEN_PROXY_BIND"] = "127.0.0.1:8080";
            start.Environment["KEN_PROXY_STATS_BIND"] = "127.0.0.1:8404";
            start.Environment["POD_NAMESPACE"] = "ken";
            using var process = System.Diagnostics.Process.Start(start)!;
            string stderr = await process.StandardError.ReadToEndAsync(Ct);
            await process.WaitForExitAsync(Ct);
            Assert.True(process.ExitCode == 0, $"haproxy -c -f {config}: {stderr}");
        }
    }

    private static async Task<List<Dictionary<object, object>>> RenderAsync(string kustomization)
    {
        string kubectl = Tools.Require("kubectl", "kubectl");
        var (exit, stdout, stderr) = await ToolRun.RunAsync(kubectl, ["kustomize", Tools.Deploy(["k8s", .. kustomization.Split('/')])], Ct);
        Assert.True(exit == 0, $"kubectl kustomize {kustomization}: {stderr}");
        return Yaml.Documents(stdout);
    }

    /// <summary>Container ports by name and by number (both as text), across <paramref name="containers"/>.</summary>
    private static Dictionary<string, string> ContainerPorts(IEnumerable<Dictionary<object, object>> containers)
    {
        var ports = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var port in containers.SelectMany(c => Yaml.Maps(c, "ports")))
        {
            string number = Yaml.Text(port, "containerPort")!;
            ports[number] = number;
            if (Yaml.Text(port, "name") is { } name)
            {
                ports[name] = number;
            }
        }

        return ports;
    }

    private static bool Selects(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.GetValueOrDefault(s.Key) == s.Value);

    private static void AssertConfigMapKey(List<Dictionary<object, object>> objects, string name, string key)
    {
        var configMap = Assert.Single(objects.OfKind("ConfigMap"), c => c.Name() == name);
        Assert.True(Yaml.StringMap(configMap, "data").ContainsKey(key), $"ConfigMap {name} has no key {key}");
    }

    private static void AssertSecretKey(List<Dictionary<object, object>> objects, string name, string key)
    {
        if (objects.OfKind("Secret").FirstOrDefault(s => s.Name() == name) is { } secret)
        {
            Assert.True(Yaml.StringMap(secret, "data").ContainsKey(key) || Yaml.StringMap(secret, "stringData").ContainsKey(key), $"Secret {name} has no key {key}");
            return;
        }

        // Not in the manifests (no token is committed): the operator creates it as docs/DEPLOY.md says.
        Assert.True(OperatorSecrets.TryGetValue(name, out var keys) && keys.Contains(key), $"Secret {name} key {key} is neither rendered nor documented as created by the operator");
        string deploy = File.ReadAllText(Path.Combine(Tools.RepoRoot, "docs", "DEPLOY.md"));
        Assert.Contains($"kubectl create secret generic {name} --from-literal={key}=", deploy, StringComparison.Ordinal);
    }
}
