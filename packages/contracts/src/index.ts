// @mmit/contracts
