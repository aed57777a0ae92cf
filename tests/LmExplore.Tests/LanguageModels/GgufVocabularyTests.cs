using LmExplore.LanguageModels;
using LmExplore.Runs;

namespace LmExplore.Tests.LanguageModels;

/// <summary>
/// <see cref="GgufVocabulary"/>: text a vocabulary cannot encode is refused before llama.cpp tokenizes it (its
/// SentencePiece tokenizer aborts the process on such text; its BPE tokenizer drops the bytes). Pure C#: the files
/// are only read, never given to llama.cpp.
/// </summary>
public class GgufVocabularyTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-vocab");
    public void Dispose() => _dir.Dispose();

    private static readonly TinyLlamaOptions NoBytes = new() { ByteTokens = false };

    private GgufVocabulary Vocabulary(TinyLlamaOptions? options = null, Action<GgufWriter>? change = null) =>
        new(GgufValidator.Validate(GgufFixtures.Tiny(_dir.Path, "v.gguf", change, options)));

    private static string Refusal(GgufVocabulary v, string text)
    {
        var e = Assert.Throws<InputException>(() => v.EnsureEncodable(text));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void WithByteTokens_AnyTextIsEncodable()
    {
        var v = Vocabulary();
        foreach (var text in new[] { "", "ad>", "Z", "héllo wörld", "a😀", "\0\u0001\n", "\ud800 lone", "<0x41>", " leading" })
            v.EnsureEncodable(text);
    }

    [Fact]
    public void WithoutByteTokens_AMissingCharacter_IsNamedWithItsPosition()
    {
        var v = Vocabulary(NoBytes);
        v.EnsureEncodable("ad>b 12");
        Assert.Contains("cannot encode the character 'Z' (U+005A) at position 0 of the text", Refusal(v, "Z"));
        Assert.Contains("'Z' (U+005A) at position 2", Refusal(v, "abZc"));
        Assert.Contains("'é' (U+00E9) at position 1", Refusal(v, "hé"));
        Assert.Contains("'😀' (U+1F600) at position 1", Refusal(v, "a😀"));
        Assert.Contains("(U+000A) at position 1", Refusal(v, "a\nb")); // a control character is named by its code only
        Assert.Contains("(U+FFFD) at position 1", Refusal(v, "a\ud800")); // a lone surrogate reaches llama.cpp as U+FFFD
        Assert.Contains("no byte tokens (<0xHH>)", Refusal(v, "Z"));
    }

    [Fact]
    public void Spaces_AreWrittenAsTheSentencePieceMark()
    {
        var pieces = GgufWriter.TinyPieces.Where(p => p != "\u2581").ToList();
        var v = Vocabulary(NoBytes with { Pieces = pieces });
        v.EnsureEncodable("ab");
        Assert.Contains("the character ' ' (U+0020) at position 1 of the text (written '▁')", Refusal(v, "a b"));
        // Without tokenizer.ggml.add_space_prefix = false, llama.cpp puts a space before the text: ▁ must be encodable.
        var prefixed = Vocabulary(NoBytes with { Pieces = pieces }, w => w.Remove("tokenizer.ggml.add_space_prefix"));
        Assert.Contains("the model adds a leading space, written '▁'", Refusal(prefixed, "ab"));
        Vocabulary(NoBytes, w => w.Remove("tokenizer.ggml.add_space_prefix")).EnsureEncodable("ab");
    }

    [Fact]
    public void ACharacterWithoutItsOwnToken_IsEncodedWhenAMergeTakesIt()
    {
        // "ZZ" is an entry but "Z" is not: llama.cpp's merges join adjacent Zs into "ZZ" (leftmost first), so only a Z left
        // on its own cannot be encoded.
        var v = Vocabulary(NoBytes with { Pieces = [.. GgufWriter.TinyPieces, "ZZ"] });
        v.EnsureEncodable("aZZb");
        v.EnsureEncodable("ZZZZ");
        Assert.Contains("'Z' (U+005A) at position 1", Refusal(v, "aZb"));
        Assert.Contains("'Z' (U+005A) at position 3", Refusal(v, "aZZZ"));
        // The higher-scoring merge wins: with "aZ" scoring above "ZZ", "aZZ" becomes "aZ" + a lone Z.
        var scored = Vocabulary(NoBytes with { Pieces = ["aZ", .. GgufWriter.TinyPieces, "ZZ"] });
        Assert.Contains("'Z' (U+005A) at position 2", Refusal(scored, "aZZ"));
        scored.EnsureEncodable("bZZ");
    }

    [Fact]
    public void UserDefinedTokens_AreMatchedWhole_BeforeTheRest()
    {
        var options = NoBytes with { Pieces = [.. GgufWriter.TinyPieces, "Z>"] };
        var types = GgufFixtures.TinyTypes(options);
        types[^1] = 4; // user-defined
        var v = Vocabulary(options, w => w.Add("tokenizer.ggml.token_type", types));
        v.EnsureEncodable("aZ>b");
        v.EnsureEncodable("Z>Z>");
        Assert.Contains("'Z' (U+005A) at position 1", Refusal(v, "aZb"));
        // Split around "Z>" first, the pieces are "a" and "Z"; as an ordinary entry, "Z>" is only a merge and "aZ>Z" fails the same way.
        Assert.Contains("'Z' (U+005A) at position 3", Refusal(v, "aZ>Z"));
        Assert.Contains("'Z' (U+005A) at position 3", Refusal(Vocabulary(options), "aZ>Z"));
    }

    [Fact]
    public void BytePairVocabularies_NeedATokenForEveryByte()
    {
        // GPT-2's byte stand-ins: printable Latin-1 bytes stand for themselves, the rest for U+0100 onwards (space: U+0120 'Ġ').
        var standIns = new List<string>();
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            standIns.Add(char.ConvertFromUtf32(printable ? b : next++));
        }
        string path = Path.Combine(_dir.Path, "bpe.gguf");
        new GgufWriter().Add("general.architecture", "gpt2").Add("tokenizer.ggml.model", "gpt2")
            .Add("tokenizer.ggml.tokens", standIns.Where(s => s != "Z").ToList()).Add("tokenizer.ggml.merges", new List<string> { "a b" })
            .Save(path);
        var v = new GgufVocabulary(GgufFile.Read(path));
        v.EnsureEncodable("hello world é\n");
        Assert.Contains("'Z' (U+005A) at position 3 of the text: byte 0x5A has no token (llama.cpp would drop it silently)", Refusal(v, "abcZ"));
    }

    [Fact]
    public void OtherTokenizers_MapUnknownTextToTheirUnknownToken_AndAreNotChecked()
    {
        var v = Vocabulary(NoBytes, w => w.Add("tokenizer.ggml.model", "t5"));
        v.EnsureEncodable("Z");
    }
}
