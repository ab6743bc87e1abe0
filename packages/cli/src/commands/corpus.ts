// mmit corpus create|upload|import|show|ls  (being written)
import type { Command } from 'commander';
export function registerCorpusCommands(_program: Command): void {}
