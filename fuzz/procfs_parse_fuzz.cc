// Feeds arbitrary bytes to every /proc parser of src/collect. /proc is not outside input, but
// the parsers must never crash or read out of bounds whatever a kernel (or a capture) contains.
// The first byte picks the parser; the rest is the file text. Each parser is also run twice
// with the same reused output, as the collectors do.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "collect/proc_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace echomon::collect;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  static ProcStat stat;
  static std::vector<MountEntry> mounts;
  static std::vector<DiskStats> disks;
  static std::vector<NetDevStats> devs;
  for (int round = 0; round < 2; ++round) {
    switch (data[0] % 9) {
      case 0:
        (void)ParseProcStat(text, &stat);
        break;
      case 1: {
        LoadAvg l;
        (void)ParseLoadAvg(text, &l);
        break;
      }
      case 2: {
        Pressure p;
        (void)ParsePressure(text, &p);
        break;
      }
      case 3: {
        MemInfo m;
        (void)ParseMemInfo(text, &m);
        break;
      }
      case 4: {
        VmStat v;
        (void)ParseVmStat(text, &v);
        break;
      }
      case 5:
        (void)ParseMounts(text, &mounts);
        break;
      case 6:
        (void)ParseDiskStats(text, &disks);
        break;
      case 7:
        (void)ParseNetDev(text, &devs);
        break;
      default: {
        SelfStat s;
        SelfStatm m;
        (void)ParseSelfStat(text, &s);
        (void)ParseSelfStatm(text, &m);
        break;
      }
    }
  }
  return 0;
}
