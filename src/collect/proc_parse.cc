#include "collect/proc_parse.h"

#include "collect/proc_reader.h"

namespace echomon::collect {
namespace {

// Parses up to n fields of text into values; missing or malformed fields are left as 0.
// Returns how many parsed.
template <size_t N>
size_t ParseU64Fields(std::string_view text, std::array<uint64_t, N>* values) {
  size_t n = 0;
  for (; n < N; ++n) {
    std::string_view field = NextField(&text);
    if (!ParseU64(field, &(*values)[n])) {
      for (size_t i = n; i < N; ++i) (*values)[i] = 0;
      break;
    }
  }
  return n;
}

// Decodes the octal escapes of /proc/mounts (\040 space, \011 tab, \012 newline, \134 '\').
void AssignUnescaped(std::string_view field, std::string* out) {
  out->clear();
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      char a = field[i + 1], b = field[i + 2], c = field[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out->push_back(static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out->push_back(field[i]);
  }
}

}  // namespace

Status ParseProcStat(std::string_view text, ProcStat* out) {
  out->total = CpuTimes{};
  for (CpuTimes& cpu : out->cpus) cpu.present = false;
  out->online_cpus = 0;
  out->has_intr = out->has_ctxt = out->has_processes = false;
  out->has_procs_running = out->has_procs_blocked = false;
  std::string_view line;
  while (NextLine(&text, &line)) {
    std::string_view key = NextField(&line);
    if (key.size() >= 3 && key.substr(0, 3) == "cpu") {
      CpuTimes* target;
      if (key.size() == 3) {
        target = &out->total;
      } else {
        uint64_t index;
        // Bound the index so a corrupt line cannot make us allocate without limit.
        if (!ParseU64(key.substr(3), &index) || index >= 65536) continue;
        if (out->cpus.size() <= index) out->cpus.resize(index + 1);
        target = &out->cpus[index];
        ++out->online_cpus;
      }
      if (ParseU64Fields(line, &target->ticks) >= 4) target->present = true;
      continue;
    }
    std::string_view value = NextField(&line);
    if (key == "intr") {
      out->has_intr = ParseU64(value, &out->intr);
    } else if (key == "ctxt") {
      out->has_ctxt = ParseU64(value, &out->ctxt);
    } else if (key == "processes") {
      out->has_processes = ParseU64(value, &out->processes);
    } else if (key == "procs_running") {
      out->has_procs_running = ParseU64(value, &out->procs_running);
    } else if (key == "procs_blocked") {
      out->has_procs_blocked = ParseU64(value, &out->procs_blocked);
    }
  }
  if (!out->total.present) return Status::ParseError("no aggregate cpu line");
  return Status::Ok();
}

Status ParseLoadAvg(std::string_view text, LoadAvg* out) {
  if (!ParseDouble(NextField(&text), &out->load1) || !ParseDouble(NextField(&text), &out->load5) ||
      !ParseDouble(NextField(&text), &out->load15)) {
    return Status::ParseError("malformed load averages");
  }
  std::string_view tasks = NextField(&text);
  size_t slash = tasks.find('/');
  if (slash == std::string_view::npos || !ParseU64(tasks.substr(0, slash), &out->runnable) ||
      !ParseU64(tasks.substr(slash + 1), &out->threads)) {
    return Status::ParseError("malformed task counts");
  }
  return Status::Ok();
}

Status ParsePressure(std::string_view text, Pressure* out) {
  out->some = PressureLine{};
  out->full = PressureLine{};
  std::string_view line;
  while (NextLine(&text, &line)) {
    std::string_view kind = NextField(&line);
    PressureLine* target = kind == "some" ? &out->some : kind == "full" ? &out->full : nullptr;
    if (target == nullptr) continue;
    int seen = 0;
    for (std::string_view field = NextField(&line); !field.empty(); field = NextField(&line)) {
      size_t eq = field.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view name = field.substr(0, eq), value = field.substr(eq + 1);
      bool ok = false;
      if (name == "avg10") {
        ok = ParseDouble(value, &target->avg10);
      } else if (name == "avg60") {
        ok = ParseDouble(value, &target->avg60);
      } else if (name == "avg300") {
        ok = ParseDouble(value, &target->avg300);
      } else if (name == "total") {
        ok = ParseU64(value, &target->total_us);
      }
      if (ok) ++seen;
    }
    target->present = seen == 4;
  }
  if (!out->some.present && !out->full.present) return Status::ParseError("no pressure lines");
  return Status::Ok();
}

Status ParseMemInfo(std::string_view text, MemInfo* out) {
  *out = MemInfo{};
  std::string_view line;
  while (NextLine(&text, &line)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    uint64_t* target = nullptr;
    bool* flag = nullptr;
    if (key == "MemTotal") {
      target = &out->total, flag = &out->has_total;
    } else if (key == "MemFree") {
      target = &out->free, flag = &out->has_free;
    } else if (key == "MemAvailable") {
      target = &out->available, flag = &out->has_available;
    } else if (key == "Buffers") {
      target = &out->buffers;
    } else if (key == "Cached") {
      target = &out->cached;
    } else if (key == "Shmem") {
      target = &out->shmem, flag = &out->has_shmem;
    } else if (key == "SwapTotal") {
      target = &out->swap_total;
    } else if (key == "SwapFree") {
      target = &out->swap_free;
    } else {
      continue;
    }
    uint64_t value;
    if (!ParseU64(NextField(&rest), &value)) continue;
    std::string_view unit = NextField(&rest);
    if (unit == "kB") value *= 1024;
    *target = value;
    if (flag != nullptr) *flag = true;
  }
  if (!out->has_total) return Status::ParseError("no MemTotal");
  return Status::Ok();
}

Status ParseVmStat(std::string_view text, VmStat* out) {
  *out = VmStat{};
  std::string_view line;
  while (NextLine(&text, &line)) {
    std::string_view key = NextField(&line);
    std::string_view value = NextField(&line);
    if (key == "pgfault") {
      out->has_pgfault = ParseU64(value, &out->pgfault);
    } else if (key == "pgmajfault") {
      out->has_pgmajfault = ParseU64(value, &out->pgmajfault);
    } else if (key == "pswpin") {
      out->has_pswpin = ParseU64(value, &out->pswpin);
    } else if (key == "pswpout") {
      out->has_pswpout = ParseU64(value, &out->pswpout);
    } else if (key == "oom_kill") {
      out->has_oom_kill = ParseU64(value, &out->oom_kill);
    }
  }
  return Status::Ok();
}

Status ParseMounts(std::string_view text, std::vector<MountEntry>* out) {
  size_t n = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    std::string_view device = NextField(&line);
    std::string_view mount_point = NextField(&line);
    std::string_view fstype = NextField(&line);
    std::string_view options = NextField(&line);
    if (options.empty()) continue;
    if (out->size() <= n) out->emplace_back();
    MountEntry& entry = (*out)[n++];
    AssignUnescaped(device, &entry.device);
    AssignUnescaped(mount_point, &entry.mount_point);
    AssignUnescaped(fstype, &entry.fstype);
    std::string_view first_option = options.substr(0, options.find(','));
    entry.readonly = first_option == "ro";
  }
  out->resize(n);
  return Status::Ok();
}

Status ParseDiskStats(std::string_view text, std::vector<DiskStats>* out) {
  size_t n = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    NextField(&line);  // major
    NextField(&line);  // minor
    std::string_view name = NextField(&line);
    std::array<uint64_t, 11> v;
    if (name.empty() || ParseU64Fields(line, &v) < 11) continue;
    if (out->size() <= n) out->emplace_back();
    DiskStats& d = (*out)[n++];
    d.name.assign(name);
    d.reads = v[0];
    d.sectors_read = v[2];
    d.read_ms = v[3];
    d.writes = v[4];
    d.sectors_written = v[6];
    d.write_ms = v[7];
    d.in_flight = v[8];
    d.io_ms = v[9];
  }
  out->resize(n);
  return Status::Ok();
}

Status ParseNetDev(std::string_view text, std::vector<NetDevStats>* out) {
  size_t n = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // header lines
    std::string_view name = Trim(line.substr(0, colon));
    std::array<uint64_t, 16> v;
    if (name.empty() || ParseU64Fields(line.substr(colon + 1), &v) < 16) continue;
    if (out->size() <= n) out->emplace_back();
    NetDevStats& s = (*out)[n++];
    s.name.assign(name);
    s.rx_bytes = v[0];
    s.rx_packets = v[1];
    s.rx_errors = v[2];
    s.rx_drops = v[3];
    s.tx_bytes = v[8];
    s.tx_packets = v[9];
    s.tx_errors = v[10];
    s.tx_drops = v[11];
  }
  out->resize(n);
  return Status::Ok();
}

Status ParseSelfStat(std::string_view text, SelfStat* out) {
  size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) return Status::ParseError("no ')' after comm");
  std::string_view rest = text.substr(paren + 1);
  // rest starts at field 3 (state); utime is field 14, stime 15, num_threads 20.
  std::string_view field;
  bool ok = true;
  for (int i = 3; i <= 20; ++i) {
    field = NextField(&rest);
    if (i == 14) ok = ok && ParseU64(field, &out->utime_ticks);
    if (i == 15) ok = ok && ParseU64(field, &out->stime_ticks);
    if (i == 20) ok = ok && ParseU64(field, &out->threads);
  }
  if (!ok) return Status::ParseError("malformed stat fields");
  return Status::Ok();
}

Status ParseSelfStatm(std::string_view text, SelfStatm* out) {
  if (!ParseU64(NextField(&text), &out->size_pages) ||
      !ParseU64(Trim(NextField(&text)), &out->resident_pages)) {
    return Status::ParseError("malformed statm");
  }
  return Status::Ok();
}

}  // namespace echomon::collect
