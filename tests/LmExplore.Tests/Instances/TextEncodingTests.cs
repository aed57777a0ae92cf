using System.Text;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Instances;

/// <summary>
/// Regressions: invalid UTF-8 bytes or a lone-surrogate \u escape in an instance file used to escape
/// as an internal error (exit 1) because System.Text.Json only checks text when a string is read. Now: the
/// bad-input contract (exit 2, one line) from both <c>instance inspect</c> and <c>run</c>.
/// </summary>
public class TextEncodingTests
{
    private const string Valid = """
        { "format": "lmexplore.instance/v1", "beta": 0.1, "featureDim": 2, "theta": [1.0, 0.0],
          "noise": { "kind": "none" },
          "prompts": [ { "weight": 1.0, "responses": [
            { "refProb": 0.5, "features": [0.1, 0.2], "text": "TEXT" }, { "refProb": 0.5, "features": [0.3, 0.0] } ] } ] }
        """;

    public static TheoryData<string, byte[]> Cases() => new()
    {
        { "invalid UTF-8 in a text field", Bytes(Valid, "TEXT", [0xFF, 0xFE, 0x41]) },
        { "lone surrogate escape in a text field", Encoding.UTF8.GetBytes(Valid.Replace("TEXT", "\\ud800")) },
        { "lone surrogate escape in a key", Encoding.UTF8.GetBytes(Valid.Replace("\"weight\": 1.0", "\"weight\": 1.0, \"w\\udc00\": 1")) },
        { "UTF-16 file", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(Valid)).ToArray() },
    };

    private static byte[] Bytes(string text, string marker, byte[] replacement)
    {
        int at = text.IndexOf(marker, StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(text[..at]), .. replacement, .. Encoding.UTF8.GetBytes(text[(at + marker.Length)..])];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadText_IsABadInput(string name, byte[] content)
    {
        using var dir = CliHarness.TempDir();
        var file = dir.File("bad.json");
        File.WriteAllBytes(file, content);
        CliHarness.Invoke("instance", "inspect", file, "--json").AssertBadInput(name + " (inspect)");
        CliHarness.Invoke("run", "--instance", file, "--algo", "passive", "--seed", "1", "--json").AssertBadInput(name + " (run)");
    }

    [Fact]
    public void ValidEscapesAndBom_StillLoad()
    {
        using var dir = CliHarness.TempDir();
        var file = dir.File("ok.json");
        File.WriteAllBytes(file, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Valid.Replace("TEXT", "\\ud83d\\ude00 \\u00e9 \\\\u"))]);
        var json = CliHarness.Invoke("instance", "inspect", file, "--json").SingleJsonObject();
        Assert.Equal(2, json.GetProperty("responses").GetInt32());
    }
}
