"""Where third_party/aarch64/make_sysroot.sh puts the aarch64 sysroot.

Outside the source tree and fixed, like /opt/edgecompress/npm, so that the
toolchain's flags and the qemu wrapper can name it; setup.sh --aarch64 makes it.
"""

AARCH64_SYSROOT = "/opt/edgecompress/aarch64-sysroot"
