# The addon: src/addon.c and the engine's own sources (src/*.c of the
# uvfetch tree, not its CLI), compiled against Node's headers, so uv.h is
# Node's (the nodedir's include/node). No libuv is linked: uv_* and napi_*
# resolve from the node binary when the addon is loaded. libcurl is the
# system's.
{
  'variables': {
    'uvfetch_root%': '<!(node scripts/engine.js root)',
  },
  'targets': [{
    'target_name': 'uvfetch',
    'sources': [
      'src/addon.c',
      '<!@(node scripts/engine.js sources)',
    ],
    'include_dirs': [
      '<(uvfetch_root)/include',
      '<(uvfetch_root)/src',
    ],
    'defines': ['_GNU_SOURCE', 'NAPI_VERSION=8'],
    'cflags': ['-fvisibility=hidden', '-O2'],
    'cflags_c': ['-std=c11', '-Wall', '-Wno-unused-parameter'],
    'libraries': ['<!@(pkg-config --libs libcurl)'],
  }],
}
