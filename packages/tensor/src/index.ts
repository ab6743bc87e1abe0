// @mmit/tensor
