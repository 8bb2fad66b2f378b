using Ken.Format;
using SkiaSharp;

namespace Ken.Viz;

/// <summary>
/// Skia (built without fontconfig) reads fonts from the system font folder; with none there, plots
/// render with every label silently missing, so rendering refuses to start instead.
/// </summary>
public static class VizFonts
{
    /// <summary>True when Skia can see at least one font family.</summary>
    public static bool Available => SKFontManager.Default.FontFamilyCount > 0;

    /// <exception cref="KenException">No font is installed.</exception>
    public static void EnsureAvailable()
    {
        if (!Available)
        {
            throw new KenException("KENviz found no fonts (Skia looks under /usr/share/fonts), so its plots would have no labels; install one, e.g. `apt-get install fonts-dejavu-core`, and run again.");
        }
    }
}
