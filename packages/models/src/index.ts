// @mmit/models
