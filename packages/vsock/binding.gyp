{
  "targets": [
    {
      "target_name": "arca_vsock",
      "sources": [
        "src/addon.cc",
        "src/codec.cc",
        "src/loop.cc",
        "src/relay.cc", "src/offload.cc", "src/peer-buffers.cc",
        "src/socket.cc",
        "src/tap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Werror", "-O2"]
    }
  ]
}
