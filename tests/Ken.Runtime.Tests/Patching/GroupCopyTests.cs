using Ken.Format.Deltas;
using Ken.Runtime.Patching;

namespace Ken.Runtime.Tests.Patching;

public sealed class GroupCopyTests
{
    [Theory]
    [InlineData(0.05, 0.05)]
    [InlineData(0.25, 0.1)]
    [InlineData(0.0, 0.3)]
    [InlineData(0.5, 0.0)]
    public void Restore_then_apply_by_group_lists_equals_the_bitmap_switch(double oldDensity, double newDensity)
    {
        const int count = 384 * 40;
        var random = new Random(11);
        var oldMask = TestMasks.Blocks(random, count, oldDensity);
        var newMask = TestMasks.Blocks(random, count, newDensity);
        var pristine = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
        var oldValues = Enumerable.Range(0, (int)MaskBits.PopCount(oldMask)).Select(i => -1f - i).ToArray();
        var newValues = Enumerable.Range(0, (int)MaskBits.PopCount(newMask)).Select(i => 1f + i).ToArray();
        var expected = (float[])pristine.Clone();
        MaskBits.Scatter(oldMask, oldValues, expected);
        MaskedCopy.Replace(oldMask, newMask, newValues, pristine, expected);

        var oldGroups = GroupCopy.ListGroups(oldMask)!;
        var newGroups = GroupCopy.ListGroups(newMask)!;
        var slot = (float[])pristine.Clone();

        // Lines neither task holds are poisoned: the lists must never touch them.
        for (var i = 0; i < count; i++)
        {
            if (!MaskBits.IsSet(oldMask, i) && !MaskBits.IsSet(newMask, i))
            {
                slot[i] = expected[i] = float.NaN;
            }
        }

        Assert.Equal(oldValues.Length, GroupCopy.Apply(oldGroups, oldValues, slot));
        Assert.Equal(oldValues.Length, GroupCopy.Restore(oldGroups, pristine, slot));
        Assert.Equal(newValues.Length, GroupCopy.Apply(newGroups, newValues, slot));
        Assert.Equal(expected, slot);
    }

    [Fact]
    public void Only_masks_of_whole_bytes_have_group_lists_and_mismatched_input_is_refused()
    {
        var mask = new byte[16];
        mask[3] = mask[9] = 0xFF;
        Assert.Equal([3, 9], GroupCopy.ListGroups(mask)!);
        Assert.Empty(GroupCopy.ListGroups(new byte[4])!);
        mask[4] = 0x01;
        Assert.Null(GroupCopy.ListGroups(mask));

        var slot = new float[128];
        Assert.Throws<ArgumentException>(() => GroupCopy.Apply([3, 9], new float[15], slot));
        Assert.Throws<ArgumentException>(() => GroupCopy.Apply([3, 16], new float[16], slot));
        Assert.Throws<ArgumentException>(() => GroupCopy.Restore([3], new float[120], slot));
    }

    [Fact]
    public void A_bound_patch_of_whole_bytes_carries_its_groups_and_counts_them_as_resident()
    {
        var mask = new byte[4];
        mask[1] = 0xFF;
        var patch = new PhysicalPatch(0, "t", mask, new float[8], 32);
        Assert.Equal([1], patch.Groups!);
        Assert.Equal(4 + (8 * sizeof(float)) + sizeof(int), patch.ResidentBytes);
        mask = [0x0F, 0, 0, 0];
        Assert.Null(new PhysicalPatch(0, "t", mask, new float[4], 32).Groups);
    }
}
