// A fake libnvidia-ml for the GPU collector's tests: exports the NVML entry points the collector
// uses, with values from a fixed table the tests know, and a few controls (fake_nvml_set /
// fake_nvml_get, found with dlsym on the same handle) to change answers and read call counts.
//
// Built twice (tests/collect/gpu/CMakeLists.txt):
//  - FAKE_NVML_MODERN: versioned names (nvmlInit_v2, nvmlDeviceGetCount_v2, ..._v2 handles,
//    nvmlDeviceGetMemoryInfo_v2, nvmlDeviceGetComputeRunningProcesses_v3 with 24-byte entries,
//    nvmlDeviceGetCurrentClocksEventReasons); nvmlDeviceGetPerformanceState is NOT exported
//    (an optional symbol missing).
//  - legacy: only the unversioned names (nvmlInit, nvmlDeviceGetCount,
//    nvmlDeviceGetHandleByIndex, nvmlDeviceGetMemoryInfo, nvmlDeviceGetComputeRunningProcesses
//    with 16-byte entries, nvmlDeviceGetCurrentClocksThrottleReasons).
//
// Two GPUs. GPU 0 answers Not Supported for the fan and GPU 1 for ECC; GPU 1 answers No
// Permission for energy. Processes on GPU 0: pids 4242 (1 GiB), 4243 (2 GiB) and 4244 (memory
// not available); none on GPU 1. Control "gpu0_processes" = N replaces them with N processes
// (pids 5000..), to make the list outgrow the collector's first buffer.
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace {

using Return = int;
constexpr Return kSuccess = 0, kUninitialized = 1, kInvalidArgument = 2, kNotSupported = 3,
                 kNoPermission = 4, kInsufficientSize = 7, kGpuIsLost = 15,
                 kArgumentVersionMismatch = 25;

struct Device {
  int index;
};
Device g_devices[2] = {{0}, {1}};

std::mutex g_mu;
std::map<std::string, long long>& State() {
  static std::map<std::string, long long> state;
  return state;
}
long long Get(const std::string& key) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = State().find(key);
  return it == State().end() ? 0 : it->second;
}
void Bump(const std::string& key) {
  std::lock_guard<std::mutex> lock(g_mu);
  ++State()[key];
}

// Common checks for a device call: initialised, valid handle, GPU not "lost".
Return DeviceCheck(void* handle, int* index) {
  if (Get("initialised") <= 0) return kUninitialized;
  if (handle != &g_devices[0] && handle != &g_devices[1]) return kInvalidArgument;
  *index = static_cast<Device*>(handle)->index;
  if (Get("lost_gpu") == *index + 1) return kGpuIsLost;
  return kSuccess;
}

struct ProcessV1 {
  unsigned int pid;
  unsigned long long usedGpuMemory;
};
struct ProcessV2 {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

template <typename Info>
Return Processes(void* device, unsigned int* count, Info* infos) {
  int i = 0;
  if (Return rc = DeviceCheck(device, &i); rc != kSuccess) return rc;
  if (count == nullptr) return kInvalidArgument;
  Bump("process_calls");
  struct P {
    unsigned pid;
    unsigned long long mem;
  };
  P list[64];
  unsigned n = 0;
  if (i == 0) {
    long long many = Get("gpu0_processes");
    if (many > 0) {
      for (; n < static_cast<unsigned>(many) && n < 64; ++n)
        list[n] = {5000 + n, (n + 1) * 1000ULL};
    } else {
      list[n++] = {4242, 1ULL << 30};
      list[n++] = {4243, 2ULL << 30};
      list[n++] = {4244, ~0ULL};  // NVML_VALUE_NOT_AVAILABLE
    }
  }
  if (*count < n) {
    *count = n;
    return kInsufficientSize;
  }
  *count = n;
  for (unsigned k = 0; k < n; ++k) {
    std::memset(&infos[k], 0xAB, sizeof(Info));  // garbage in any field not set
    infos[k].pid = list[k].pid;
    infos[k].usedGpuMemory = list[k].mem;
  }
  return kSuccess;
}

Return CopyString(const char* text, char* buf, unsigned int length) {
  size_t n = std::strlen(text);
  if (buf == nullptr || length < n + 1) return kInsufficientSize;
  std::memcpy(buf, text, n + 1);
  return kSuccess;
}

}  // namespace

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

// ---- controls (not NVML) ----
FAKE_EXPORT void fake_nvml_set(const char* key, long long value) {
  std::lock_guard<std::mutex> lock(g_mu);
  State()[key] = value;
}
FAKE_EXPORT long long fake_nvml_get(const char* key) { return Get(key); }
FAKE_EXPORT void fake_nvml_reset() {
  std::lock_guard<std::mutex> lock(g_mu);
  State().clear();
}

// ---- NVML ----
static Return Init() {
  Bump("init_calls");
  if (long long rc = Get("init_rc"); rc != 0) return static_cast<Return>(rc);
  Bump("initialised");
  return kSuccess;
}
FAKE_EXPORT Return nvmlShutdown() {
  Bump("shutdown_calls");
  std::lock_guard<std::mutex> lock(g_mu);
  if (State()["initialised"] > 0) --State()["initialised"];
  return kSuccess;
}
FAKE_EXPORT const char* nvmlErrorString(Return rc) {
  switch (rc) {
    case kSuccess:
      return "Success";
    case kUninitialized:
      return "Uninitialized";
    case kNotSupported:
      return "Not Supported";
    case kNoPermission:
      return "Insufficient Permissions";
    case 9:
      return "Driver Not Loaded";
    case kGpuIsLost:
      return "GPU is lost";
    case kArgumentVersionMismatch:
      return "Argument Version Mismatch";
    default:
      return "Unknown Error";
  }
}
FAKE_EXPORT Return nvmlSystemGetDriverVersion(char* buf, unsigned int length) {
  return CopyString("580.00.01", buf, length);
}
FAKE_EXPORT Return nvmlSystemGetNVMLVersion(char* buf, unsigned int length) {
  return CopyString("13.580.00.01", buf, length);
}
static Return Count(unsigned int* count) {
  if (Get("initialised") <= 0) return kUninitialized;
  *count = 2;
  return kSuccess;
}
static Return Handle(unsigned int index, void** device) {
  if (Get("initialised") <= 0) return kUninitialized;
  Bump("handle_calls");
  if (index >= 2) return kInvalidArgument;
  *device = &g_devices[index];
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetName(void* d, char* buf, unsigned int length) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (Get("garbage_name") != 0 && i == 1) {
    // No NUL within the buffer, bytes outside ASCII: the caller must stay inside `length`.
    for (unsigned k = 0; k < length; ++k) buf[k] = static_cast<char>(k % 2 == 0 ? 'X' : 0xC3);
    return kSuccess;
  }
  return CopyString(i == 0 ? "NVIDIA H100 80GB HBM3" : "NVIDIA A10", buf, length);
}
FAKE_EXPORT Return nvmlDeviceGetUUID(void* d, char* buf, unsigned int length) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  return CopyString(i == 0 ? "GPU-00000000-1111-2222-3333-444444444444"
                           : "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                    buf, length);
}
struct Utilization {
  unsigned int gpu, memory;
};
FAKE_EXPORT Return nvmlDeviceGetUtilizationRates(void* d, Utilization* u) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  *u = i == 0 ? Utilization{87, 45} : Utilization{3, 1};
  return kSuccess;
}
struct Memory {
  unsigned long long total, free, used;
};
FAKE_EXPORT Return nvmlDeviceGetMemoryInfo(void* d, Memory* m) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  // v1: used includes the reserved memory.
  *m = i == 0 ? Memory{85899345920ULL, 5368709120ULL, 80530636800ULL}
              : Memory{24146608128ULL, 23622320128ULL, 524288000ULL};
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetTemperature(void* d, int sensor, unsigned int* t) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (sensor != 0) return kInvalidArgument;
  *t = i == 0 ? 61 : 35;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetPowerUsage(void* d, unsigned int* mw) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  long long set = Get("power_mw_" + std::to_string(i));
  *mw = set > 0 ? static_cast<unsigned>(set) : (i == 0 ? 350123u : 25000u);
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetEnforcedPowerLimit(void* d, unsigned int* mw) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  *mw = i == 0 ? 700000u : 150000u;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetClockInfo(void* d, int type, unsigned int* mhz) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  static const unsigned kClocks[2][4] = {{1980, 1980, 2619, 1755}, {885, 885, 6251, 870}};
  if (type < 0 || type > 3) return kInvalidArgument;
  *mhz = kClocks[i][type];
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetMaxClockInfo(void* d, int type, unsigned int* mhz) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  static const unsigned kClocks[2][4] = {{1980, 1980, 2619, 1965}, {1695, 1695, 6251, 1515}};
  if (type < 0 || type > 3) return kInvalidArgument;
  *mhz = kClocks[i][type];
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetTotalEnergyConsumption(void* d, unsigned long long* mj) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (i == 1) return kNoPermission;
  *mj = 123456789ULL;
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetTotalEccErrors(void* d, int type, int counter,
                                               unsigned long long* n) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (i == 1) return kNotSupported;
  if (counter != 0) return kInvalidArgument;  // the collector asks for volatile counts
  *n = type == 0 ? 5 : 0;
  return kSuccess;
}
static Return Reasons(void* d, unsigned long long* mask) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  *mask = i == 0 ? 0x4ULL : 0x1ULL;  // sw_power_cap / gpu_idle
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetPcieThroughput(void* d, int counter, unsigned int* kb) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (counter == 0) {
    *kb = i == 0 ? 1000 : 0;
  } else if (counter == 1) {
    *kb = i == 0 ? 2000 : 0;
  } else {
    return kInvalidArgument;
  }
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetFanSpeed(void* d, unsigned int* pct) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (i == 0) return kNotSupported;
  *pct = 40;
  return kSuccess;
}

#ifdef FAKE_NVML_MODERN
FAKE_EXPORT Return nvmlInit_v2() { return Init(); }
FAKE_EXPORT Return nvmlDeviceGetCount_v2(unsigned int* count) { return Count(count); }
FAKE_EXPORT Return nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  return Handle(index, device);
}
FAKE_EXPORT Return nvmlSystemGetCudaDriverVersion_v2(int* v) {
  *v = 13000;
  return kSuccess;
}
struct MemoryV2 {
  unsigned int version;
  unsigned long long total, reserved, free, used;
};
FAKE_EXPORT Return nvmlDeviceGetMemoryInfo_v2(void* d, MemoryV2* m) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  if (m->version != (sizeof(MemoryV2) | (2u << 24))) return kArgumentVersionMismatch;
  if (i == 0) {
    m->total = 85899345920ULL;
    m->reserved = 536870912ULL;
    m->free = 5368709120ULL;
    m->used = 79993765888ULL;
  } else {
    m->total = 24146608128ULL;
    m->reserved = 314572800ULL;
    m->free = 23622320128ULL;
    m->used = 209715200ULL;
  }
  return kSuccess;
}
FAKE_EXPORT Return nvmlDeviceGetComputeRunningProcesses_v3(void* d, unsigned int* count,
                                                           ProcessV2* infos) {
  return Processes(d, count, infos);
}
FAKE_EXPORT Return nvmlDeviceGetCurrentClocksEventReasons(void* d, unsigned long long* mask) {
  return Reasons(d, mask);
}
#else
FAKE_EXPORT Return nvmlInit() { return Init(); }
FAKE_EXPORT Return nvmlDeviceGetCount(unsigned int* count) { return Count(count); }
FAKE_EXPORT Return nvmlDeviceGetHandleByIndex(unsigned int index, void** device) {
  return Handle(index, device);
}
FAKE_EXPORT Return nvmlDeviceGetComputeRunningProcesses(void* d, unsigned int* count,
                                                        ProcessV1* infos) {
  return Processes(d, count, infos);
}
FAKE_EXPORT Return nvmlDeviceGetCurrentClocksThrottleReasons(void* d, unsigned long long* mask) {
  return Reasons(d, mask);
}
FAKE_EXPORT Return nvmlDeviceGetPerformanceState(void* d, int* p) {
  int i = 0;
  if (Return rc = DeviceCheck(d, &i); rc != kSuccess) return rc;
  *p = i == 0 ? 0 : 8;
  return kSuccess;
}
#endif
