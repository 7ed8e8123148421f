// The list of extensions the agent runs (see extension.h). Each component adds one line here.
#include "monitor/extension.h"

namespace echomon::monitor {

std::unique_ptr<Extension> MakeDashboardExtension();    // dashboard_extension.cc
std::unique_ptr<Extension> MakeRemoteWriteExtension();  // remote_write_extension.cc
std::unique_ptr<Extension> MakeReportExtension();       // report_extension.cc
std::unique_ptr<Extension> MakeComponentsExtension();   // components_extension.cc
std::unique_ptr<Extension> MakeIncidentsExtension();    // incidents_extension.cc
std::unique_ptr<Extension> MakeGpuExtension();          // gpu_extension.cc
std::unique_ptr<Extension> MakeMaintenanceExtension();  // maintenance_extension.cc

std::vector<std::unique_ptr<Extension>> MakeExtensions(const core::Config& /*config*/) {
  std::vector<std::unique_ptr<Extension>> out;
  out.push_back(MakeIncidentsExtension());
  out.push_back(MakeDashboardExtension());
  out.push_back(MakeRemoteWriteExtension());
  out.push_back(MakeReportExtension());
  out.push_back(MakeComponentsExtension());
  out.push_back(MakeGpuExtension());
  out.push_back(MakeMaintenanceExtension());
  return out;
}

}  // namespace echomon::monitor
