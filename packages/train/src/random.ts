// The trainer's seeded random generator is mmit's one generator: its whole state is one 32-bit
// integer, so a checkpoint can store it and a resumed run draws exactly the numbers the original
// would have.
export { SeededRandom } from '@mmit/random';
