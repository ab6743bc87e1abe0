// @mmit/service-kit
