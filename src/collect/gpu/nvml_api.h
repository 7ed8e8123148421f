// The few NVML declarations echomon uses, written from NVIDIA's documented ABI (nvml.h of the
// CUDA toolkit / the NVML API reference) so the agent builds without CUDA headers and loads
// libnvidia-ml.so.1 at run time with dlopen. Only types, constants and function-pointer types:
// nothing here links against NVML.
//
// ABI notes (all x86-64 / aarch64 LP64, C layout):
//  - nvmlDevice_t is an opaque pointer; nvmlReturn_t an int-sized enum.
//  - Struct versions are sizeof(struct) | (version << 24), e.g. nvmlMemory_v2 = 0x02000028.
//  - nvmlDeviceGetComputeRunningProcesses (v1) fills 16-byte {pid, usedGpuMemory} entries;
//    _v2 and _v3 fill 24-byte entries with gpuInstanceId and computeInstanceId appended.
#pragma once

#include <cstdint>

namespace echomon::collect::gpu::nvml {

using Return = int;  // nvmlReturn_t
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorUninitialized = 1;
inline constexpr Return kErrorInvalidArgument = 2;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorInsufficientSize = 7;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorLibraryNotFound = 12;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorGpuIsLost = 15;
inline constexpr Return kErrorUnknown = 999;

struct DeviceSt;
using Device = DeviceSt*;  // nvmlDevice_t

// Buffer sizes NVML documents for its string getters (the _V2 sizes, the largest).
inline constexpr unsigned kDeviceNameBufferSize = 96;     // NVML_DEVICE_NAME_V2_BUFFER_SIZE
inline constexpr unsigned kDeviceUuidBufferSize = 96;     // NVML_DEVICE_UUID_V2_BUFFER_SIZE
inline constexpr unsigned kSystemVersionBufferSize = 80;  // NVML_SYSTEM_*_VERSION_BUFFER_SIZE

struct Utilization {  // nvmlUtilization_t, percent over the driver's last sample period
  unsigned int gpu;
  unsigned int memory;
};

struct Memory {  // nvmlMemory_t (v1), bytes; used includes driver-reserved memory
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct MemoryV2 {  // nvmlMemory_v2_t, bytes
  unsigned int version;
  unsigned long long total;
  unsigned long long reserved;
  unsigned long long free;
  unsigned long long used;
};
inline constexpr unsigned int kMemoryV2Version =
    static_cast<unsigned int>(sizeof(MemoryV2)) | (2u << 24);

struct ProcessInfoV1 {  // nvmlProcessInfo_v1_t
  unsigned int pid;
  unsigned long long usedGpuMemory;
};

struct ProcessInfoV2 {  // nvmlProcessInfo_v2_t == nvmlProcessInfo_t (used by _v2 and _v3)
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

static_assert(sizeof(ProcessInfoV1) == 16 && sizeof(ProcessInfoV2) == 24 &&
                  sizeof(MemoryV2) == 40 && kMemoryV2Version == 0x02000028,
              "NVML struct layouts");

// NVML reports usedGpuMemory as this when it cannot tell (e.g. no permission, Windows WDDM).
inline constexpr unsigned long long kValueNotAvailableUll = ~0ULL;

// nvmlTemperatureSensors_t
inline constexpr int kTemperatureGpu = 0;
// nvmlClockType_t
inline constexpr int kClockGraphics = 0;
inline constexpr int kClockSm = 1;
inline constexpr int kClockMem = 2;
inline constexpr int kClockVideo = 3;
// nvmlMemoryErrorType_t
inline constexpr int kMemoryErrorCorrected = 0;
inline constexpr int kMemoryErrorUncorrected = 1;
// nvmlEccCounterType_t
inline constexpr int kVolatileEcc = 0;
inline constexpr int kAggregateEcc = 1;
// nvmlPcieUtilCounter_t
inline constexpr int kPcieUtilTxBytes = 0;
inline constexpr int kPcieUtilRxBytes = 1;

// Clock event (formerly "throttle") reason bits: nvmlClocksEventReason* /
// nvmlClocksThrottleReason*.
inline constexpr unsigned long long kReasonGpuIdle = 0x1;
inline constexpr unsigned long long kReasonApplicationsClocksSetting = 0x2;
inline constexpr unsigned long long kReasonSwPowerCap = 0x4;
inline constexpr unsigned long long kReasonHwSlowdown = 0x8;
inline constexpr unsigned long long kReasonSyncBoost = 0x10;
inline constexpr unsigned long long kReasonSwThermalSlowdown = 0x20;
inline constexpr unsigned long long kReasonHwThermalSlowdown = 0x40;
inline constexpr unsigned long long kReasonHwPowerBrakeSlowdown = 0x80;
inline constexpr unsigned long long kReasonDisplayClockSetting = 0x100;

// Function-pointer types, one per NVML entry point used (all return nvmlReturn_t except
// nvmlErrorString).
using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using ErrorStringFn = const char* (*)(Return);
using SystemGetStringFn = Return (*)(char* buffer, unsigned int length);
using SystemGetCudaDriverVersionFn = Return (*)(int* version);
using DeviceGetCountFn = Return (*)(unsigned int* count);
using DeviceGetHandleByIndexFn = Return (*)(unsigned int index, Device* device);
using DeviceGetStringFn = Return (*)(Device device, char* buffer, unsigned int length);
using DeviceGetUtilizationRatesFn = Return (*)(Device device, Utilization* utilization);
using DeviceGetMemoryInfoFn = Return (*)(Device device, Memory* memory);
using DeviceGetMemoryInfoV2Fn = Return (*)(Device device, MemoryV2* memory);
using DeviceGetTemperatureFn = Return (*)(Device device, int sensor, unsigned int* celsius);
using DeviceGetUintFn = Return (*)(Device device, unsigned int* value);
using DeviceGetUllFn = Return (*)(Device device, unsigned long long* value);
using DeviceGetClockInfoFn = Return (*)(Device device, int clock_type, unsigned int* mhz);
using DeviceGetTotalEccErrorsFn = Return (*)(Device device, int error_type, int counter_type,
                                             unsigned long long* count);
using DeviceGetPcieThroughputFn = Return (*)(Device device, int counter, unsigned int* kb_per_s);
using DeviceGetPerformanceStateFn = Return (*)(Device device, int* pstate);
using DeviceGetProcessesV1Fn = Return (*)(Device device, unsigned int* count, ProcessInfoV1* infos);
using DeviceGetProcessesV2Fn = Return (*)(Device device, unsigned int* count, ProcessInfoV2* infos);

}  // namespace echomon::collect::gpu::nvml
