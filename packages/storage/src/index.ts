// @mmit/storage
