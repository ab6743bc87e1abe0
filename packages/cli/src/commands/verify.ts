// mmit verify <dir>  (being written)
import type { Command } from 'commander';
export function registerVerifyCommand(_program: Command): void {}
