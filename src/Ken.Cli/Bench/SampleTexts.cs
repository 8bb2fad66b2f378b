namespace Ken.Cli.Bench;

/// <summary>Texts <c>ken bench</c> sends when no <c>--texts</c> file is given: short and medium, mixed topics.</summary>
internal static class SampleTexts
{
    public static readonly IReadOnlyList<string> All =
    [
        "Congratulations! You have won a free cruise. Reply YES to claim your prize now.",
        "Are we still meeting for lunch tomorrow at noon?",
        "The committee will review the budget proposal before the end of the fiscal year.",
        "URGENT: your account has been suspended, verify your password at the link below.",
        "I finally finished the book you lent me; the ending was not what I expected.",
        "Tonight I ask the Congress to pass a bill that lowers the cost of prescription drugs.",
        "We must secure our borders and cut taxes for every working family in America.",
        "The weather service expects heavy rain along the coast through the weekend.",
        "Can you send me the slides from this morning's meeting?",
        "Limited offer: buy one, get two free. Text STOP to unsubscribe.",
        "The new transit line will connect the airport with downtown in under twenty minutes.",
        "Researchers found that the compound slowed tumor growth in mice by forty percent.",
        "Our union is strong, and together we will build an economy that works for everyone.",
        "Please remember to water the plants while I am away next week.",
        "The quarterly report shows revenue up six percent, driven by cloud services.",
        "You have been selected for an exclusive loan with no credit check, apply today!",
        "The museum's new exhibit traces three centuries of maritime trade in the region.",
        "Happy birthday! Hope you have a wonderful day with your family.",
        "Investment in clean energy will create millions of good jobs across this nation.",
        "The match was postponed after the storm flooded half of the stadium's parking lots.",
    ];
}
