/**
 * Stylized 7×12 digit bitmaps for the RBF output layer (84 = 7 × 12 cells, row-major).
 * A community transcription of Fig. 3 of LeCun et al. 1998 (public repository
 * mattwang44/LeNet-from-Scratch, utils/RBF_initial_weight.py); its fidelity to the figure is
 * not verified. 'X' = +1, '.' = −1.
 */
export const kRbfBitmaps: ReadonlyArray<ReadonlyArray<string>> = [
  ['.XXXXX.', '.......', '..XXX..', '.XX.XX.', 'XX...XX', 'XX...XX', 'XX...XX', 'XX...XX', '.XX.XX.', '..XXX..', '.......', '.......'],
  ['...XX..', '..XXX..', '.XXXX..', '...XX..', '...XX..', '...XX..', '...XX..', '...XX..', '...XX..', '.XXXXXX', '.......', '.......'],
  ['.XXXXX.', '.......', '.XXXXX.', 'XX...XX', 'X....XX', '....XX.', '..XXX..', '.XX....', 'XX.....', 'XXXXXXX', '.......', '.......'],
  ['XXXXXXX', '.....XX', '....XX.', '...XX..', '..XXXX.', '.....XX', '.....XX', '.....XX', 'XX...XX', '.XXXXX.', '.......', '.......'],
  ['.XXXXX.', '.......', '.......', '.XX..XX', '.XX..XX', 'XXX..XX', 'XX...XX', 'XX...XX', 'XX..XXX', '.XXXXXX', '.....XX', '.....XX'],
  ['.XXXXX.', '.......', 'XXXXXXX', 'XX.....', 'XX.....', '.XXXX..', '..XXXX.', '.....XX', 'XX...XX', '.XXXXX.', '.......', '.......'],
  ['..XXXX.', '.XX....', 'XX.....', 'XX.....', 'XXXXXX.', 'XXX..XX', 'XX...XX', 'XX...XX', 'XXX..XX', '.XXXXX.', '.......', '.......'],
  ['XXXXXXX', '.....XX', '.....XX', '....XX.', '...XX..', '...XX..', '..XX...', '..XX...', '..XX...', '..XX...', '.......', '.......'],
  ['.XXXXX.', 'XX...XX', 'XX...XX', 'XX...XX', '.XXXXX.', 'XX...XX', 'XX...XX', 'XX...XX', 'XX...XX', '.XXXXX.', '.......', '.......'],
  ['.XXXXX.', 'XX..XXX', 'XX...XX', 'XX...XX', 'XX..XXX', '.XXXXXX', '.....XX', '.....XX', '....XX.', '.XXXX..', '.......', '.......'],
];

/** Source recorded in a weights file's metadata when these bitmaps are its centres. */
export const kRbfBitmapsSource = 'LeCun 1998 Fig. 3, transcription from mattwang44/LeNet-from-Scratch';

/**
 * The 10 × 84 RBF centres: each bitmap cell mapped to `low` ('.') or `high` ('X').
 *
 * @example
 * const centres = rbfCentres(0, 1); // for a sigmoid F6, whose outputs lie in (0, 1)
 */
export function rbfCentres(low = -1, high = 1): Float32Array {
  const centres = new Float32Array(10 * 84);
  kRbfBitmaps.forEach((rows, digit) =>
    rows.join('').split('').forEach((cell, j) => {
      centres[digit * 84 + j] = cell === 'X' ? high : low;
    }),
  );
  return centres;
}
