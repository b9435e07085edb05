"""Stage 1, data: from a room, an array and speech (or recordings) to the HDF5 dataset of one acoustic condition.

`geometry` (room, array, source grid, train/val/test split, direct-path delays), `corpus` (clean speech:
espeak, a folder of WAV/FLAC files or CMU ARCTIC behind one interface), `acoustics` (image-source RIRs,
convolution, sensor noise, windows, measured T60), `recordings` (a manifest of the user's multichannel WAV
files with known source positions, checked row by row, resampled and windowed), `dataset` (the HDF5
layout, checksummed atomic writes and readers with clear errors) and `components` (a simulated test window
split into direct sound, early reflections, late reverberation and noise, from pyroomacoustics' own image
sources, and its sibling HDF5 file). The first stage: it imports only the
package's core (`names`, `io`, `seeding`, `metrics`), never a later stage.
"""
