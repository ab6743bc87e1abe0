// @mmit/cli
