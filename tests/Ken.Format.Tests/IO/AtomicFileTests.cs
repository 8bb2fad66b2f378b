using Ken.Format.IO;
using Ken.TestSupport;

namespace Ken.Format.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void Writes_and_replaces_the_destination()
    {
        using var temp = new TempDirectory();
        string path = temp.File("out.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2 });
        AtomicFile.WriteAllBytes(path, new byte[] { 3 });
        Assert.Equal(new byte[] { 3 }, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void A_failure_mid_write_leaves_neither_file_nor_temp_file()
    {
        using var temp = new TempDirectory();
        string path = temp.File("out.bin");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new InvalidOperationException("boom");
        }));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void A_failure_keeps_the_previous_content()
    {
        using var temp = new TempDirectory();
        string path = temp.File("out.bin");
        File.WriteAllBytes(path, [9]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, _ => throw new InvalidOperationException("boom")));
        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void A_missing_folder_says_to_create_it()
    {
        using var temp = new TempDirectory();
        string folder = temp.File("missing");
        var ex = Assert.Throws<KenException>(() => AtomicFile.WriteAllBytes(Path.Combine(folder, "out.bin"), new byte[] { 1 }));
        Assert.Contains(folder, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist; create it or choose another output path", ex.Message, StringComparison.Ordinal);
    }
}
