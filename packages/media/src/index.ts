// @mmit/media
