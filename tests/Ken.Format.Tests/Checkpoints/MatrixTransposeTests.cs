using Ken.Format.Checkpoints;

namespace Ken.Format.Tests.Checkpoints;

public class MatrixTransposeTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(33, 70)]
    [InlineData(64, 32)]
    public void Transpose_moves_every_element(int rows, int columns)
    {
        var source = OnnxModelBuilder.Sequence(rows * columns);
        var destination = new float[rows * columns];

        MatrixTranspose.Transpose(source, destination, rows, columns);

        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                Assert.Equal(source[(r * columns) + c], destination[(c * rows) + r]);
            }
        }
    }
}
